// A small SPIR-V reader: only the instructions that size a compute shader's footprint.
#include "spirv_footprint.hpp"

#include <functional>
#include <map>
#include <set>

#include "glowq/error.hpp"

namespace glowq::vk {

namespace {

// SPIR-V opcodes, decorations, storage classes and capabilities used below (SPIR-V 1.6 spec).
enum Op : uint32_t {
    OpCapability = 17, OpExecutionMode = 16, OpTypeBool = 20, OpTypeInt = 21, OpTypeFloat = 22,
    OpTypeVector = 23, OpTypeMatrix = 24, OpTypeArray = 28, OpTypeStruct = 30, OpTypePointer = 32,
    OpConstantTrue = 41, OpConstantFalse = 42, OpConstant = 43, OpConstantComposite = 44,
    OpSpecConstantTrue = 48, OpSpecConstantFalse = 49, OpSpecConstant = 50, OpSpecConstantComposite = 51,
    OpSpecConstantOp = 52, OpVariable = 59, OpDecorate = 71,
};
enum : uint32_t { DecorationSpecId = 1, DecorationBuiltIn = 11, DecorationBinding = 33, BuiltInWorkgroupSize = 25 };
enum : uint32_t { ExecutionModeLocalSize = 17, ExecutionModeLocalSizeId = 38 };
enum : uint32_t { StorageUniform = 2, StorageWorkgroup = 4, StorageStorageBuffer = 12 };
enum : uint32_t {
    CapFloat16 = 9, CapInt64 = 11, CapInt16 = 22, CapInt8 = 39, CapStorageBuffer16 = 4433,
    CapStorageBuffer8 = 4448, CapGroupNonUniform = 61, CapGroupNonUniformVote = 62,
    CapGroupNonUniformArithmetic = 63, CapGroupNonUniformBallot = 64, CapGroupNonUniformShuffle = 65,
    CapGroupNonUniformShuffleRelative = 66, CapGroupNonUniformClustered = 67, CapGroupNonUniformQuad = 68,
    CapDotProductInput4x8Bit = 6017, CapDotProductInput4x8BitPacked = 6018, CapDotProduct = 6019,
    CapCooperativeMatrixKHR = 6022,
};

struct Type {
    uint32_t op = 0;
    uint32_t a = 0, b = 0;            // int/float: width; vector/matrix: component, count; array: element, length id
    std::vector<uint32_t> members;   // struct
};

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorKind::Internal, "SPIR-V footprint: " + what); }

uint64_t eval_op(uint32_t op, const std::vector<uint64_t>& v) {
    auto need = [&](size_t n) {
        if (v.size() < n) fail("specialization op " + std::to_string(op) + " has too few operands");
    };
    switch (op) {
        case 128: need(2); return uint32_t(v[0] + v[1]);              // IAdd
        case 130: need(2); return uint32_t(v[0] - v[1]);              // ISub
        case 132: need(2); return uint32_t(v[0] * v[1]);              // IMul
        case 134: case 135:                                            // UDiv, SDiv (non-negative here)
            need(2);
            if (!v[1]) fail("division by zero in a specialization constant");
            return v[0] / v[1];
        case 137: case 139:                                            // UMod, SMod
            need(2);
            if (!v[1]) fail("modulo by zero in a specialization constant");
            return v[0] % v[1];
        case 194: need(2); return uint32_t(v[0] >> v[1]);             // ShiftRightLogical
        case 196: need(2); return uint32_t(v[0] << v[1]);             // ShiftLeftLogical
        case 197: need(2); return v[0] | v[1];                        // BitwiseOr
        case 199: need(2); return v[0] & v[1];                        // BitwiseAnd
        case 113: case 114: need(1); return v[0];                     // UConvert, SConvert
        case 170: need(2); return v[0] == v[1];                       // IEqual
        case 171: need(2); return v[0] != v[1];                       // INotEqual
        case 172: need(2); return v[0] > v[1];                        // UGreaterThan
        case 174: need(2); return v[0] >= v[1];                       // UGreaterThanEqual
        case 176: need(2); return v[0] < v[1];                        // ULessThan
        case 178: need(2); return v[0] <= v[1];                       // ULessThanEqual
        case 169: need(3); return v[0] ? v[1] : v[2];                 // Select
        case 164: need(2); return (v[0] != 0) == (v[1] != 0);         // LogicalEqual
        case 165: need(2); return (v[0] != 0) != (v[1] != 0);         // LogicalNotEqual
        case 166: need(2); return v[0] || v[1];                       // LogicalOr
        case 167: need(2); return v[0] && v[1];                       // LogicalAnd
        case 168: need(1); return !v[0];                              // LogicalNot
        default: fail("cannot evaluate specialization op " + std::to_string(op));
    }
}

}  // namespace

ShaderFootprint spirv_footprint(const uint32_t* words, size_t count, const std::vector<uint32_t>& spec) {
    if (count < 5 || words[0] != 0x07230203u) fail("not a SPIR-V module");
    ShaderFootprint f;
    std::map<uint32_t, Type> types;
    std::map<uint32_t, uint64_t> scalars;                 // constant id -> value
    std::map<uint32_t, std::vector<uint32_t>> composites;  // constant id -> constituent ids
    std::map<uint32_t, uint32_t> spec_ids, bindings;
    std::set<uint32_t> workgroup_size_ids;
    std::vector<uint32_t> local_size_ids;
    std::set<uint32_t> buffer_bindings;
    std::vector<std::pair<uint32_t, uint32_t>> buffer_vars;    // (variable id, storage class)
    std::map<uint32_t, std::pair<uint32_t, uint32_t>> pointer_types;  // id -> (storage class, pointee)

    // First pass: decorations (they precede the types and constants they name).
    for (size_t i = 5; i < count;) {
        const uint32_t n = words[i] >> 16, op = words[i] & 0xffff;
        if (n == 0 || i + n > count) fail("truncated instruction");
        const uint32_t* w = words + i;
        if (op == OpDecorate && n >= 4) {
            if (w[2] == DecorationSpecId) spec_ids[w[1]] = w[3];
            if (w[2] == DecorationBinding) bindings[w[1]] = w[3];
            if (w[2] == DecorationBuiltIn && w[3] == BuiltInWorkgroupSize) workgroup_size_ids.insert(w[1]);
        }
        i += n;
    }

    auto value = [&](uint32_t id) -> uint64_t {
        auto it = scalars.find(id);
        if (it == scalars.end()) fail("constant %" + std::to_string(id) + " is not a known scalar");
        return it->second;
    };
    auto spec_value = [&](uint32_t id, uint64_t fallback) -> uint64_t {
        auto s = spec_ids.find(id);
        return s != spec_ids.end() && s->second < spec.size() ? spec[s->second] : fallback;
    };
    std::map<uint32_t, uint64_t> size_cache;
    std::function<uint64_t(uint32_t)> size_of = [&](uint32_t id) -> uint64_t {
        auto t = types.find(id);
        if (t == types.end()) fail("type %" + std::to_string(id) + " is unknown");
        switch (t->second.op) {
            case OpTypeBool: return 4;
            case OpTypeInt: case OpTypeFloat: return t->second.a / 8;
            case OpTypeVector: case OpTypeMatrix: return size_of(t->second.a) * t->second.b;
            case OpTypeArray: return size_of(t->second.a) * value(t->second.b);
            case OpTypeStruct: {
                uint64_t s = 0;
                for (uint32_t m : t->second.members) s += size_of(m);
                return s;
            }
            default: fail("type %" + std::to_string(id) + " has no size");
        }
    };

    for (size_t i = 5; i < count;) {
        const uint32_t n = words[i] >> 16, op = words[i] & 0xffff;
        const uint32_t* w = words + i;
        switch (op) {
            case OpCapability:
                if (n >= 2) switch (w[1]) {
                        case CapFloat16: f.float16 = true; break;
                        case CapInt64: f.int64 = true; break;
                        case CapInt16: f.int16 = true; break;
                        case CapInt8: f.int8 = true; break;
                        case CapStorageBuffer16: f.storage16 = true; break;
                        case CapStorageBuffer8: f.storage8 = true; break;
                        case CapGroupNonUniform: case CapGroupNonUniformVote: case CapGroupNonUniformClustered:
                        case CapGroupNonUniformQuad: case CapGroupNonUniformShuffleRelative:
                            f.subgroup_basic = true;
                            break;
                        case CapGroupNonUniformArithmetic: f.subgroup_arithmetic = f.subgroup_basic = true; break;
                        case CapGroupNonUniformBallot: f.subgroup_ballot = f.subgroup_basic = true; break;
                        case CapGroupNonUniformShuffle: f.subgroup_shuffle = f.subgroup_basic = true; break;
                        case CapDotProduct: case CapDotProductInput4x8Bit: case CapDotProductInput4x8BitPacked:
                            f.integer_dot = true;
                            break;
                        case CapCooperativeMatrixKHR: f.cooperative_matrix = true; break;
                        default: break;
                    }
                break;
            case OpExecutionMode:
                if (n >= 6 && w[2] == ExecutionModeLocalSize) {
                    f.local_size[0] = w[3];
                    f.local_size[1] = w[4];
                    f.local_size[2] = w[5];
                }
                if (n >= 6 && w[2] == ExecutionModeLocalSizeId) local_size_ids = {w[3], w[4], w[5]};
                break;
            case OpTypeBool: types[w[1]] = {op, 0, 0, {}}; break;
            case OpTypeInt: case OpTypeFloat: types[w[1]] = {op, w[2], 0, {}}; break;
            case OpTypeVector: case OpTypeMatrix: case OpTypeArray: types[w[1]] = {op, w[2], w[3], {}}; break;
            case OpTypeStruct: types[w[1]] = {op, 0, 0, std::vector<uint32_t>(w + 2, w + n)}; break;
            case OpTypePointer: pointer_types[w[1]] = {w[2], w[3]}; break;
            case OpConstantTrue: case OpConstantFalse: scalars[w[2]] = op == OpConstantTrue; break;
            case OpSpecConstantTrue: case OpSpecConstantFalse:
                scalars[w[2]] = spec_value(w[2], op == OpSpecConstantTrue) != 0;
                break;
            case OpConstant: scalars[w[2]] = w[3]; break;
            case OpSpecConstant: scalars[w[2]] = spec_value(w[2], w[3]); break;
            case OpConstantComposite: case OpSpecConstantComposite:
                composites[w[2]] = std::vector<uint32_t>(w + 3, w + n);
                break;
            case OpSpecConstantOp: {
                const uint32_t inner = w[3];
                if (inner == 81) {  // CompositeExtract: a composite constant's member
                    auto c = composites.find(w[4]);
                    if (c == composites.end() || n < 6 || w[5] >= c->second.size())
                        fail("CompositeExtract of an unknown composite");
                    scalars[w[2]] = value(c->second[w[5]]);
                } else {
                    std::vector<uint64_t> args;
                    for (uint32_t k = 4; k < n; ++k) args.push_back(value(w[k]));
                    scalars[w[2]] = eval_op(inner, args);
                }
                break;
            }
            case OpVariable: {
                const uint32_t sc = w[3];
                if (sc == StorageWorkgroup) {
                    auto p = pointer_types.find(w[1]);
                    if (p == pointer_types.end()) fail("a shared variable of unknown type");
                    f.shared_bytes += size_of(p->second.second);
                }
                if (sc == StorageStorageBuffer || sc == StorageUniform) buffer_vars.push_back({w[2], sc});
                break;
            }
            default: break;
        }
        i += n;
    }
    for (uint32_t id : workgroup_size_ids) {
        auto c = composites.find(id);
        if (c == composites.end() || c->second.size() != 3) fail("WorkgroupSize is not a 3-component constant");
        for (int d = 0; d < 3; ++d) f.local_size[d] = uint32_t(value(c->second[d]));
    }
    if (workgroup_size_ids.empty() && local_size_ids.size() == 3)
        for (int d = 0; d < 3; ++d) f.local_size[d] = uint32_t(value(local_size_ids[d]));
    // Uniform-class blocks are uniform buffers unless BufferBlock-decorated; glowq's shaders
    // (SPIR-V 1.3) declare storage buffers in the StorageBuffer class only.
    for (const auto& [var, sc] : buffer_vars) {
        if (sc != StorageStorageBuffer) continue;
        auto b = bindings.find(var);
        if (b != bindings.end()) buffer_bindings.insert(b->second);
    }
    f.storage_buffers = uint32_t(buffer_bindings.size());
    return f;
}

std::vector<std::string> footprint_violations(const ShaderFootprint& f, const DeviceCaps& caps) {
    std::vector<std::string> out;
    auto over = [&](const std::string& what, uint64_t need, uint64_t have) {
        if (need > have) out.push_back(what + " " + std::to_string(need) + " (the device allows " + std::to_string(have) + ")");
    };
    over("workgroup invocations", f.invocations(), caps.max_workgroup_invocations);
    for (int d = 0; d < 3; ++d) over("workgroup size " + std::string(1, "xyz"[d]), f.local_size[d], caps.max_workgroup_size[d]);
    over("shared memory bytes", f.shared_bytes, caps.max_shared_memory);
    over("storage buffers", f.storage_buffers, caps.max_storage_buffers_per_stage);
    auto need = [&](bool uses, bool has, const char* what) {
        if (uses && !has) out.push_back(std::string(what) + " (not available)");
    };
    need(f.subgroup_basic, caps.subgroup_basic, "subgroup operations");
    need(f.subgroup_arithmetic, caps.subgroup_arithmetic, "subgroup arithmetic");
    need(f.subgroup_shuffle, caps.subgroup_shuffle, "subgroup shuffle");
    need(f.subgroup_ballot, caps.subgroup_ballot, "subgroup ballot");
    need(f.float16, caps.shader_float16, "fp16 arithmetic");
    need(f.int8, caps.shader_int8, "int8 arithmetic");
    need(f.int16, caps.shader_int16, "int16 arithmetic");
    need(f.int64, caps.shader_int64, "int64 arithmetic");
    need(f.storage16, caps.storage_buffer_16bit, "16-bit storage");
    need(f.storage8, caps.storage_buffer_8bit, "8-bit storage");
    need(f.integer_dot, caps.integer_dot_product, "integer dot product");
    need(f.cooperative_matrix, caps.cooperative_matrix, "cooperative matrix");
    return out;
}

}  // namespace glowq::vk
