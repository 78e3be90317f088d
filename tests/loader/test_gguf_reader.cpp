// GgufFile on well-formed input: header, every metadata type, typed errors, tensor views.
#include <catch2/catch.hpp>

#include "glowq/loader/gguf.hpp"
#include "gguf_test_support.hpp"

using namespace glowq;
using glowq_test::GgufBytes;

namespace {

GgufBytes small_file() {
    GgufBytes g;
    g.header(2, 6);
    g.kv<uint32_t>("llama.block_count", GgufType::U32, 30);
    g.kv<float>("llama.rope.freq_base", GgufType::F32, 10000.0f);
    g.kv<int8_t>("x.i8", GgufType::I8, -5);
    g.kv_str("general.architecture", "llama");
    // array of u16
    g.str("x.arr").put<uint32_t>(uint32_t(GgufType::ARRAY)).put<uint32_t>(uint32_t(GgufType::U16)).put<uint64_t>(3);
    g.put<uint16_t>(7).put<uint16_t>(8).put<uint16_t>(9);
    // array of arrays of strings: [["a", "bc"], []]
    g.str("x.nested").put<uint32_t>(uint32_t(GgufType::ARRAY)).put<uint32_t>(uint32_t(GgufType::ARRAY)).put<uint64_t>(2);
    g.put<uint32_t>(uint32_t(GgufType::STRING)).put<uint64_t>(2).str("a").str("bc");
    g.put<uint32_t>(uint32_t(GgufType::STRING)).put<uint64_t>(0);
    g.tensor_info("w", {32, 2}, 0, 0);       // F32, 256 bytes
    g.tensor_info("b", {4}, 1, 256);         // F16, 8 bytes
    g.align(32);
    for (int i = 0; i < 64; ++i) g.put<float>(float(i));
    g.put<uint16_t>(0x3c00).put<uint16_t>(0x4000).put<uint16_t>(0).put<uint16_t>(0xbc00);
    return g;
}

}  // namespace

TEST_CASE("reader parses header, metadata and tensor views", "[gguf]") {
    const GgufBytes g = small_file();
    const GgufFile f = g.parse();
    CHECK(f.version() == 3);
    CHECK(f.alignment() == 32);
    CHECK(f.metadata().size() == 6);
    CHECK(f.metadata()[0].first == "llama.block_count");
    CHECK(f.get_u32("llama.block_count") == 30);
    CHECK(f.get_f32("llama.rope.freq_base") == 10000.0f);
    CHECK(f.get_i8("x.i8") == -5);
    CHECK(f.get_string("general.architecture") == "llama");
    CHECK(f.get_array<uint16_t>("x.arr") == std::vector<uint16_t>{7, 8, 9});
    CHECK(f.get_uint("llama.block_count") == 30);
    CHECK(f.get_float("llama.rope.freq_base") == 10000.0);

    const std::vector<GgufValue> outer = f.value("x.nested").items();
    REQUIRE(outer.size() == 2);
    CHECK(outer[0].get_array<std::string>() == std::vector<std::string>{"a", "bc"});
    CHECK(outer[1].array_size() == 0);
    CHECK(outer[1].array_type() == GgufType::STRING);

    REQUIRE(f.tensors().size() == 2);
    const GgufTensor& w = f.tensor("w");
    CHECK(w.type == GgmlType::F32);
    CHECK(w.n_dims == 2);
    CHECK(w.cols() == 32);
    CHECK(w.rows() == 2);
    CHECK(w.n_bytes == 256);
    CHECK(w.data == f.bytes() + f.data_offset());  // a view into the buffer, no copy
    float x;
    std::memcpy(&x, w.data + 4 * 63, 4);
    CHECK(x == 63.0f);
    CHECK(f.find_tensor("b")->n_bytes == 8);
    CHECK(f.find_tensor("nope") == nullptr);
}

TEST_CASE("typed getters report missing keys and wrong types by name", "[gguf]") {
    const GgufBytes g = small_file();
    const GgufFile f = g.parse("model.gguf");
    CHECK_THROWS_AS(f.get_u32("nope"), MissingKeyError);
    CHECK_THROWS_WITH(f.get_u32("nope"), Catch::Contains("model.gguf") && Catch::Contains("'nope'"));
    CHECK_THROWS_AS(f.get_u64("llama.block_count"), MetadataTypeError);
    CHECK_THROWS_WITH(f.get_u64("llama.block_count"),
                      Catch::Contains("model.gguf") && Catch::Contains("llama.block_count") &&
                          Catch::Contains("u32") && Catch::Contains("expected u64"));
    CHECK_THROWS_AS(f.get_string("llama.block_count"), MetadataTypeError);
    CHECK_THROWS_AS(f.get_array<uint32_t>("x.arr"), MetadataTypeError);
    CHECK_THROWS_WITH(f.get_array<uint32_t>("x.arr"), Catch::Contains("array of u16"));
    CHECK_THROWS_AS(f.get_uint("x.i8"), MetadataTypeError);  // negative
    CHECK_THROWS_AS(f.get_float("llama.block_count"), MetadataTypeError);
    CHECK_THROWS_AS(f.tensor("missing"), MissingKeyError);
    CHECK(std::is_base_of<LoadError, MetadataTypeError>::value);
    CHECK(std::is_base_of<std::runtime_error, LoadError>::value);
}

TEST_CASE("reader accepts version 2 and every scalar type", "[gguf]") {
    GgufBytes g;
    g.header(0, 12, 2);
    g.kv<uint8_t>("u8", GgufType::U8, 250);
    g.kv<int8_t>("i8", GgufType::I8, -128);
    g.kv<uint16_t>("u16", GgufType::U16, 65535);
    g.kv<int16_t>("i16", GgufType::I16, -32768);
    g.kv<uint32_t>("u32", GgufType::U32, 4294967295u);
    g.kv<int32_t>("i32", GgufType::I32, -7);
    g.kv<float>("f32", GgufType::F32, -0.5f);
    g.kv<uint8_t>("bool", GgufType::BOOL, 1);
    g.kv<uint64_t>("u64", GgufType::U64, 1ull << 63);
    g.kv<int64_t>("i64", GgufType::I64, -(1ll << 62));
    g.kv<double>("f64", GgufType::F64, 0.125);
    g.kv_str("s", "");
    const GgufFile f = g.parse();
    CHECK(f.version() == 2);
    CHECK(f.get_u8("u8") == 250);
    CHECK(f.get_i8("i8") == -128);
    CHECK(f.get_u16("u16") == 65535);
    CHECK(f.get_i16("i16") == -32768);
    CHECK(f.get_u32("u32") == 4294967295u);
    CHECK(f.get_i32("i32") == -7);
    CHECK(f.get_f32("f32") == -0.5f);
    CHECK(f.get_bool("bool"));
    CHECK(f.get_u64("u64") == (1ull << 63));
    CHECK(f.get_i64("i64") == -(1ll << 62));
    CHECK(f.get_f64("f64") == 0.125);
    CHECK(f.get_string("s").empty());
    CHECK(f.get_uint("u8") == 250);
    CHECK(f.value("i32").to_int() == -7);
    CHECK_THROWS_AS(f.value("u64").to_int(), MetadataTypeError);  // does not fit int64
    CHECK(f.tensors().empty());
}

TEST_CASE("general.alignment places the data section", "[gguf]") {
    GgufBytes g;
    g.header(1, 1);
    g.kv<uint32_t>("general.alignment", GgufType::U32, 64);
    g.tensor_info("t", {8}, 0, 0);
    g.align(64).zeros(32);
    const GgufFile f = g.parse();
    CHECK(f.alignment() == 64);
    CHECK(f.data_offset() % 64 == 0);
    CHECK(f.tensor("t").data == f.bytes() + f.data_offset());
}

TEST_CASE("open maps a file and from_bytes owns its buffer", "[gguf]") {
    const GgufBytes g = small_file();
    const std::string path = glowq_test::temp_path("reader_open.gguf");
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(g.b.data()), std::streamsize(g.b.size()));
    }
    {
        const GgufFile f = GgufFile::open(path);
        CHECK(f.name() == path);
        CHECK(f.file_size() == g.b.size());
        CHECK(f.get_u32("llama.block_count") == 30);
        GgufFile moved = GgufFile::from_bytes(g.b, "owned");
        const GgufFile m2 = std::move(moved);
        CHECK(m2.tensor("w").n_bytes == 256);
        CHECK(m2.get_string("general.architecture") == "llama");
    }
    std::remove(path.c_str());
    CHECK_THROWS_WITH(GgufFile::open(path), Catch::Contains(path) && Catch::Contains("cannot open"));
}
