#version 450
// Test kernel for the graph's step buffer: y[i] += a * x[i] for i < n, where a and n are
// read from the step buffer at replay time (a = float(step[0]), n = step[1]).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Step { uint step[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

void main() {
    const uint i = gl_GlobalInvocationID.x;
    if (i < step[1]) y[i] += float(step[0]) * x[i];
}
