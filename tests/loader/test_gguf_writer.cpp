// GgufWriter: files it writes read back identically with our reader, and with PyPI's gguf
// reader (tests/data/check_gguf_with_python.py, run with the fixtures' interpreter).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "gguf_test_support.hpp"

using namespace glowq;

namespace {

std::vector<uint8_t> q4_0_blocks(size_t n_blocks) {
    std::vector<uint8_t> b(n_blocks * 18);
    for (size_t i = 0; i < n_blocks; ++i) {
        const uint16_t d = float_to_half(0.125f * float(i + 1));
        std::memcpy(&b[i * 18], &d, 2);
        for (int j = 0; j < 16; ++j) b[i * 18 + 2 + j] = uint8_t((j + i) * 37);
    }
    return b;
}

// Every metadata type, nested arrays, an empty array, three tensor types and a padded size.
GgufWriter sample_writer(uint32_t alignment) {
    GgufWriter w(alignment);
    w.set("general.architecture", "llama");
    w.set("t.u8", uint8_t(7));
    w.set("t.i8", int8_t(-7));
    w.set("t.u16", uint16_t(65000));
    w.set("t.i16", int16_t(-32000));
    w.set("t.u32", uint32_t(4000000000u));
    w.set("t.i32", int32_t(-123456));
    w.set("t.f32", 0.75f);
    w.set("t.bool", true);
    w.set("t.string", "tab\tquote\"slash\\ \xc3\xa9");
    w.set("t.u64", uint64_t(1) << 50);
    w.set("t.i64", -(int64_t(1) << 50));
    w.set("t.f64", 2.5);
    w.set_array("t.arr_u8", std::vector<uint8_t>{1, 2, 255});
    w.set_array("t.arr_str", std::vector<std::string>{"x", "", "yz"});
    w.set_array("t.arr_f64", std::vector<double>{1.25, -2.0});
    w.set_array("t.arr_bool", std::vector<bool>{true, false});
    w.set("t.nested", GgufWriteValue::array_of(GgufType::ARRAY, {GgufWriteValue::array(std::vector<int32_t>{1, 2}),
                                                                   GgufWriteValue::array(std::vector<int32_t>{3})}));
    w.set_array("t.empty", std::vector<uint32_t>{});
    std::vector<float> f(5 * 3);
    for (size_t i = 0; i < f.size(); ++i) f[i] = float(i) - 7.5f;
    w.add_tensor_f32("odd_f32", {5, 3}, f);
    w.add_tensor("q4", GgmlType::Q4_0, {64, 2}, q4_0_blocks(4));
    w.add_tensor("halves", GgmlType::F16, {3}, [](uint8_t* dst, uint64_t n) {
        const uint16_t h[3] = {0x3c00, 0xc000, 0x3800};
        std::memcpy(dst, h, size_t(n));
    });
    return w;
}

std::string json_string(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += char(c);
        else if (c < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", c); o += buf; }
        else o += char(c);
    }
    return o + "\"";
}

std::string json_value(const GgufValue& v) {
    switch (v.type()) {
        case GgufType::STRING: return json_string(v.get<std::string>());
        case GgufType::BOOL: return v.get<bool>() ? "true" : "false";
        case GgufType::F32: case GgufType::F64: {
            std::ostringstream s;
            s.precision(17);
            s << v.to_double();
            return s.str();
        }
        case GgufType::ARRAY: {
            std::string o = "[";
            for (const GgufValue& item : v.items()) o += (o.size() > 1 ? "," : "") + json_value(item);
            return o + "]";
        }
        case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
            return std::to_string(v.to_int());
        default: return std::to_string(v.to_uint());
    }
}

}  // namespace

TEST_CASE("writer output reads back identically", "[gguf][writer]") {
    for (uint32_t alignment : {32u, 64u, 1u}) {
        INFO("alignment " << alignment);
        const GgufWriter w = sample_writer(alignment);
        const std::vector<uint8_t> bytes = w.to_bytes();
        const GgufFile f = GgufFile::from_memory(bytes.data(), bytes.size(), "written");
        CHECK(f.alignment() == alignment);
        CHECK(f.get_u8("t.u8") == 7);
        CHECK(f.get_i8("t.i8") == -7);
        CHECK(f.get_u16("t.u16") == 65000);
        CHECK(f.get_i16("t.i16") == -32000);
        CHECK(f.get_u32("t.u32") == 4000000000u);
        CHECK(f.get_i32("t.i32") == -123456);
        CHECK(f.get_f32("t.f32") == 0.75f);
        CHECK(f.get_bool("t.bool"));
        CHECK(f.get_string("t.string") == "tab\tquote\"slash\\ \xc3\xa9");
        CHECK(f.get_u64("t.u64") == uint64_t(1) << 50);
        CHECK(f.get_i64("t.i64") == -(int64_t(1) << 50));
        CHECK(f.get_f64("t.f64") == 2.5);
        CHECK(f.get_array<uint8_t>("t.arr_u8") == std::vector<uint8_t>{1, 2, 255});
        CHECK(f.get_array<std::string>("t.arr_str") == std::vector<std::string>{"x", "", "yz"});
        CHECK(f.get_array<double>("t.arr_f64") == std::vector<double>{1.25, -2.0});
        CHECK(f.get_array<bool>("t.arr_bool") == std::vector<bool>{true, false});
        CHECK(f.get_array<uint32_t>("t.empty").empty());
        const std::vector<GgufValue> nested = f.value("t.nested").items();
        REQUIRE(nested.size() == 2);
        CHECK(nested[1].get_array<int32_t>() == std::vector<int32_t>{3});
        REQUIRE(f.tensors().size() == 3);
        for (const GgufTensor& t : f.tensors()) CHECK(t.offset % alignment == 0);
        CHECK(dequantize(f.tensor("odd_f32"))[14] == 6.5f);
        CHECK(f.tensor("odd_f32").rows() == 3);
        const std::vector<uint8_t> q = q4_0_blocks(4);
        CHECK(std::memcmp(f.tensor("q4").data, q.data(), q.size()) == 0);
        CHECK(dequantize(f.tensor("halves")) == std::vector<float>{1.0f, -2.0f, 0.5f});
        // Re-writing what was read gives the same bytes.
        GgufWriter again(f.alignment());
        for (const auto& kv : f.metadata()) again.set(std::string(kv.first), GgufWriteValue::copy_of(kv.second));
        for (const GgufTensor& t : f.tensors())
            again.add_tensor(std::string(t.name), t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                             std::vector<uint8_t>(t.data, t.data + t.n_bytes));
        CHECK(again.to_bytes() == bytes);
    }
}

TEST_CASE("writer rejects malformed tensors and alignment", "[gguf][writer]") {
    GgufWriter w;
    CHECK_THROWS_AS(w.add_tensor("a", GgmlType::Q4_0, {33}, std::vector<uint8_t>(18)), Error);
    CHECK_THROWS_AS(w.add_tensor("a", GgmlType::F32, {4}, std::vector<uint8_t>(15)), Error);
    CHECK_THROWS_AS(w.add_tensor("a", GgmlType::F32, {}, std::vector<uint8_t>()), Error);
    w.add_tensor_f32("a", {1}, {1.0f});
    CHECK_THROWS_AS(w.add_tensor_f32("a", {1}, {1.0f}), Error);
    CHECK_THROWS_AS(w.set("general.alignment", uint32_t(64)), Error);
    CHECK_THROWS_AS(GgufWriter(48), Error);
    CHECK_THROWS_AS(GgufWriteValue::array_of(GgufType::U8, {GgufWriteValue::of(1.0f)}), Error);
}

TEST_CASE("writer output is read correctly by gguf-py's reader", "[gguf][writer][fixtures]") {
    const std::string python = glowq_test::fixtures_dir() + "/python";
    const std::string script = glowq_test::test_data_dir() + "/check_gguf_with_python.py";
    if (!glowq_test::file_exists(python))
        FAIL("missing " << python << ": run scripts/make_test_fixtures.sh (or set GLOWQ_FIXTURES)");
    REQUIRE(glowq_test::file_exists(script));

    const std::string path = glowq_test::temp_path("writer_py.gguf");
    std::vector<size_t> reported;  // progress: after each tensor, of all of them
    sample_writer(64).write_file(path, [&](size_t done, size_t total) {
        CHECK(total == 3);
        reported.push_back(done);
    });
    CHECK(reported == std::vector<size_t>{1, 2, 3});
    const GgufFile f = GgufFile::open(path);
    std::vector<std::string> temp_files{path};
    std::string json = "{\"kv\": {";
    bool first = true;
    for (const auto& kv : f.metadata()) {
        const GgufValue& v = kv.second;
        if (v.type() == GgufType::ARRAY && v.array_size() == 0) continue;  // gguf-py has no element type for these
        json += std::string(first ? "" : ",") + json_string(std::string(kv.first)) + ": {\"type\": " +
                std::to_string(uint32_t(v.type())) + ", \"elem\": " +
                (v.type() == GgufType::ARRAY ? std::to_string(uint32_t(v.array_type())) : "null") +
                ", \"value\": " + json_value(v) + "}";
        first = false;
    }
    json += "}, \"tensors\": [";
    first = true;
    for (const GgufTensor& t : f.tensors()) {
        const std::string values = path + "." + std::string(t.name) + ".f32";
        const std::vector<float> v = dequantize(t);
        std::ofstream(values, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
        temp_files.push_back(values);
        std::string shape;
        for (uint32_t d = 0; d < t.n_dims; ++d) shape += (d ? "," : "") + std::to_string(t.ne[d]);
        json += std::string(first ? "" : ",") + "{\"name\": " + json_string(std::string(t.name)) +
                ", \"type\": " + std::to_string(uint32_t(t.type)) + ", \"shape\": [" + shape +
                "], \"values\": " + json_string(values) + "}";
        first = false;
    }
    json += "]}";
    const std::string expect = path + ".json";
    std::ofstream(expect) << json;
    temp_files.push_back(expect);

    const std::string cmd = "'" + python + "' '" + script + "' '" + path + "' '" + expect + "'";
    const int rc = std::system(cmd.c_str());
    CHECK(rc == 0);
    for (const std::string& p : temp_files) std::remove(p.c_str());
}
