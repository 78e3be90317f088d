// AtomicFile (every file glowq writes): a process killed at random moments while writing
// leaves the previous complete file or the new complete one, never a torn one, and a rerun
// succeeds; a failed or abandoned write leaves the target as it was.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "glowq/error.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "glowq/loader/gguf.hpp"
#include "glowq/loader/gguf_writer.hpp"

using namespace glowq;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("glowq_atomic_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

size_t temporaries(const std::string& dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp") != std::string::npos;
    return n;
}

// Version v of a self-checking file: its size varies from a few bytes to past the
// writer's 1 MiB buffer, so kills land before, between and after flushes.
std::string version_bytes(uint64_t v) {
    const size_t n = 16 + size_t((v * 2654435761u) % (3u << 20));
    std::string s(n, '\0');
    std::memcpy(&s[0], &v, 8);
    const uint64_t len = n;
    std::memcpy(&s[8], &len, 8);
    for (size_t i = 16; i < n; ++i) s[i] = char((i * 131 + v * 7) & 0xff);
    return s;
}

bool valid_version(const std::string& s, uint64_t& v) {
    if (s.size() < 16) return false;
    uint64_t len = 0;
    std::memcpy(&v, &s[0], 8);
    std::memcpy(&len, &s[8], 8);
    return len == s.size() && s == version_bytes(v);
}

GgufWriter gguf_version(uint64_t v) {
    GgufWriter w;
    w.set("general.architecture", "test");
    w.set("t.version", v);
    const size_t n = 1000 + size_t((v * 40503u) % 400000u);
    std::vector<float> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = float(v) + float(i % 1000) * 0.001f;
    w.add_tensor_f32("payload", {n}, data);
    return w;
}

bool valid_gguf(const std::string& path, uint64_t& v) {
    try {
        const GgufFile f = GgufFile::open(path);
        v = f.get_u64("t.version");
        const std::vector<uint8_t> want = gguf_version(v).to_bytes();
        const std::string got = read_all(path);
        return got.size() == want.size() && std::memcmp(got.data(), want.data(), want.size()) == 0;
    } catch (const std::exception&) {
        return false;
    }
}

// Starts a child that writes versions first.. of one file until killed; the parent kills it
// after a random delay, then checks what is on disk.
template <class Write, class Check>
void kill_loop(const std::string& dir, const std::string& path, int kills, Write write, Check check) {
    std::mt19937 rng(12345);
    uint64_t first = 1, last_seen = 0;
    int found_valid = 0;
    for (int k = 0; k < kills; ++k) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // never returns into the test runner
            try {
                for (uint64_t v = first;; ++v) write(path, v);
            } catch (...) {
                ::_exit(3);
            }
        }
        ::usleep(useconds_t(std::uniform_int_distribution<int>(0, 40000)(rng)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        if (!fs::exists(path)) {
            CHECK(last_seen == 0);  // once a version landed, the file never disappears
            continue;
        }
        uint64_t v = 0;
        INFO("kill " << k);
        REQUIRE(check(path, v));
        CHECK(v >= last_seen);
        last_seen = v;
        first = v + 1000;  // the next child's versions are new ones
        ++found_valid;
    }
    CHECK(found_valid > 0);
    // A rerun after all those kills succeeds, whatever temporaries the kills left.
    write(path, 999999);
    uint64_t v = 0;
    REQUIRE(check(path, v));
    CHECK(v == 999999);
    INFO("temporaries left by killed writers: " << temporaries(dir));
}

}  // namespace

TEST_CASE("AtomicFile commits whole files and abandons failed ones", "[atomic]") {
    const std::string dir = fresh_dir("basic");
    const std::string path = dir + "/out.bin";
    write_file_atomic(path, std::string("first"));
    CHECK(read_all(path) == "first");
    {
        AtomicFile f(path);
        f.write("second, never committed", 23);
    }  // abandoned: the old file stays, the temporary is gone
    CHECK(read_all(path) == "first");
    CHECK(temporaries(dir) == 0);
    {
        AtomicFile f(path);
        const std::string big = version_bytes(7);  // past the buffer
        f.write(big.data(), big.size() / 2);
        f.write(big.data() + big.size() / 2, big.size() - big.size() / 2);
        f.commit();
        CHECK_THROWS_AS(f.commit(), Error);
        CHECK_THROWS_AS(f.write("x", 1), Error);
    }
    uint64_t v = 0;
    CHECK(valid_version(read_all(path), v));
    CHECK(v == 7);
    CHECK(temporaries(dir) == 0);
    // A missing folder: a clear error naming the target.
    try {
        write_file_atomic(dir + "/missing/out.bin", std::string("x"));
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Io);
        CHECK(std::string(e.what()).find(dir + "/missing/out.bin") != std::string::npos);
    }
    // The target is a folder: the rename fails, the temporary is removed.
    fs::create_directories(dir + "/a_dir");
    CHECK_THROWS_AS(write_file_atomic(dir + "/a_dir", std::string("x")), Error);
    CHECK(temporaries(dir) == 0);
    fs::remove_all(dir);
}

TEST_CASE("a writer killed at random moments leaves the old file or the new one", "[atomic]") {
    const std::string dir = fresh_dir("kill");
    SECTION("raw bytes, 60 kill points") {
        kill_loop(dir, dir + "/state.bin", 60,
                  [](const std::string& p, uint64_t v) {
                      const std::string s = version_bytes(v);
                      AtomicFile f(p);
                      for (size_t at = 0; at < s.size(); at += 4096) f.write(s.data() + at, std::min<size_t>(4096, s.size() - at));
                      f.commit();
                  },
                  [](const std::string& p, uint64_t& v) { return valid_version(read_all(p), v); });
    }
    SECTION("GGUF files through GgufWriter, 40 kill points") {
        kill_loop(dir, dir + "/model.gguf", 40, [](const std::string& p, uint64_t v) { gguf_version(v).write_file(p); },
                  valid_gguf);
    }
    fs::remove_all(dir);
}
