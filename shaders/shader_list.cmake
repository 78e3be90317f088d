# Every embedded shader: glowq_shader(NAME SOURCE BINDINGS N PUSH LAYOUT [DEFINE=VALUE ...]),
# N storage buffers at bindings 0..N-1 and push constants of LAYOUT (a GQ_PUSH_ macro of
# push_constants.h, or NONE). The registry generated from this list (shaders_embedded.hpp:
# glowq_shaders::Id) is how the runtime names a kernel, so a variant missing here fails the
# build where it is named.
glowq_shader(copy_bandwidth copy_bandwidth.comp BINDINGS 2 PUSH GQ_PUSH_COPY)
glowq_shader(matmul_q4_gemm matmul_q4_gemm.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL)
glowq_shader(matmul_q4_gemm_lr matmul_q4_gemm.comp BINDINGS 4 PUSH GQ_PUSH_MATMUL LOWRANK=1)
# The int4 GEMV: each variant in each form. Forms: the Lanes kernel plain, with subgroup
# sums (_subgroup) and for CPU drivers (_bcast), and the Rows kernel GPUs use (_rows).
# Variants: the low-rank epilogue (_lr); the RMSNorm folded in (_norm), or folded in from
# x already times its weights (_pre) as the product that finished the residual stream left
# it (_res, _lr_res); GlowQ's B projection as extra rows (_b). A variant reading R or B
# has a fourth binding.
# The Rows kernel also with its products as int8 dot products (_rows_dot, INT_DOT; for
# devices that accelerate them).
# Both lists also become the enums glowq_shaders::GemvForm and GemvVariant (their first
# entries: plain), and glowq_shaders::gemv(form, variant) the kernel of each pair.
set(gemv_variants "|3|" "_lr|4|LOWRANK=1" "_norm|3|NORM_INPUT=1" "_norm_b|4|NORM_INPUT=1 B_ROWS=1"
                  "_pre|3|NORM_PRE=1" "_pre_b|4|NORM_PRE=1 B_ROWS=1" "_res|3|RESID_OUT=1" "_lr_res|4|LOWRANK=1 RESID_OUT=1")
set(gemv_forms "|matmul_q4_gemv.comp|" "_subgroup|matmul_q4_gemv.comp|USE_SUBGROUP=1"
               "_bcast|matmul_q4_gemv.comp|X_BROADCAST=1" "_rows|matmul_q4_gemv_rows.comp|"
               "_rows_dot|matmul_q4_gemv_rows.comp|INT_DOT=1")
foreach(form ${gemv_forms})
  string(REPLACE "|" ";" form "${form}")
  list(GET form 0 form_name)
  list(GET form 1 form_source)
  list(GET form 2 form_define)
  foreach(variant ${gemv_variants})
    string(REPLACE "|" ";" variant "${variant}")
    list(GET variant 0 variant_name)
    list(GET variant 1 variant_bindings)
    list(GET variant 2 variant_defines)
    separate_arguments(defines UNIX_COMMAND "${form_define} ${variant_defines}")
    glowq_shader(matmul_q4_gemv${form_name}${variant_name} ${form_source} BINDINGS ${variant_bindings}
                 PUSH GQ_PUSH_MATMUL ${defines})
  endforeach()
endforeach()
glowq_shader(matmul_f32 matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL)
glowq_shader(matmul_f32_subgroup matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL USE_SUBGROUP=1)
glowq_shader(matmul_f16 matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_F16=1)
glowq_shader(matmul_f16_subgroup matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_F16=1 USE_SUBGROUP=1)
glowq_shader(matmul_f32_bcast matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL X_BROADCAST=1)
glowq_shader(matmul_f16_bcast matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_F16=1 X_BROADCAST=1)
glowq_shader(matmul_q8 matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_Q8=1)
glowq_shader(matmul_q8_subgroup matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_Q8=1 USE_SUBGROUP=1)
glowq_shader(matmul_q8_bcast matmul_dense.comp BINDINGS 3 PUSH GQ_PUSH_MATMUL WEIGHT_Q8=1 X_BROADCAST=1)
glowq_shader(test_step_axpy test/step_axpy.comp BINDINGS 3 PUSH NONE)
glowq_shader(embed_q4 embed.comp BINDINGS 3 PUSH GQ_PUSH_EMBED EMBED_Q4=1)
glowq_shader(embed_f16 embed.comp BINDINGS 3 PUSH GQ_PUSH_EMBED)
glowq_shader(embed_q8 embed.comp BINDINGS 3 PUSH GQ_PUSH_EMBED EMBED_Q8=1)
glowq_shader(rmsnorm rmsnorm.comp BINDINGS 3 PUSH GQ_PUSH_RMSNORM)
glowq_shader(rmsnorm_add rmsnorm.comp BINDINGS 3 PUSH GQ_PUSH_RMSNORM ADD=1)
glowq_shader(rope_kv rope_kv.comp BINDINGS 3 PUSH GQ_PUSH_ROPE_KV)
glowq_shader(rope_kv_lr rope_kv.comp BINDINGS 4 PUSH GQ_PUSH_ROPE_KV LOWRANK=1)
glowq_shader(rope_kv_lr_coop rope_kv.comp BINDINGS 4 PUSH GQ_PUSH_ROPE_KV LOWRANK=1 LR_COOP=1)
glowq_shader(rope_kv_lr_bcast rope_kv.comp BINDINGS 4 PUSH GQ_PUSH_ROPE_KV LOWRANK=1 LR_BCAST=1)
glowq_shader(rope_kv_heads rope_kv.comp BINDINGS 4 PUSH GQ_PUSH_ROPE_KV HEADS=1)
glowq_shader(rope_kv_heads_lr rope_kv.comp BINDINGS 4 PUSH GQ_PUSH_ROPE_KV HEADS=1 LOWRANK=1)
glowq_shader(attention attention.comp BINDINGS 4 PUSH GQ_PUSH_ATTENTION)
glowq_shader(attention_bcast_bpart attention.comp BINDINGS 4 PUSH GQ_PUSH_ATTENTION B_PARTIAL=1)
glowq_shader(silu_mul silu_mul.comp BINDINGS 2 PUSH GQ_PUSH_SILU_MUL)
glowq_shader(silu_mul_lr silu_mul.comp BINDINGS 3 PUSH GQ_PUSH_SILU_MUL LOWRANK=1)
glowq_shader(silu_mul_lr_coop silu_mul.comp BINDINGS 3 PUSH GQ_PUSH_SILU_MUL LOWRANK=1 LR_COOP=1)
glowq_shader(silu_mul_lr_bcast silu_mul.comp BINDINGS 3 PUSH GQ_PUSH_SILU_MUL LOWRANK=1 LR_BCAST=1)
# With the next product's R in parts (B_PARTIAL; CPU drivers' decode): B in the last binding.
glowq_shader(silu_mul_bcast_bpart silu_mul.comp BINDINGS 3 PUSH GQ_PUSH_SILU_MUL B_PARTIAL=1)
glowq_shader(silu_mul_lr_bcast_bpart silu_mul.comp BINDINGS 4 PUSH GQ_PUSH_SILU_MUL LOWRANK=1 LR_BCAST=1 B_PARTIAL=1)
glowq_shader(second_moments second_moments.comp BINDINGS 4 PUSH GQ_PUSH_MOMENTS)
