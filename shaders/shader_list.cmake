# Every embedded shader: glowq_shader(NAME SOURCE [DEFINE=VALUE ...]).
glowq_shader(copy_bandwidth copy_bandwidth.comp)
glowq_shader(matmul_q4_gemm matmul_q4_gemm.comp)
glowq_shader(matmul_q4_gemm_lr matmul_q4_gemm.comp LOWRANK=1)
# The int4 GEMV: each variant in each form. Forms: the Lanes kernel plain, with subgroup
# sums (_subgroup) and for CPU drivers (_bcast), and the Rows kernel GPUs use (_rows).
# Variants: the low-rank epilogue (_lr); the RMSNorm folded in (_norm), or folded in from
# x already times its weights (_pre) as the product that finished the residual stream left
# it (_res, _lr_res); GlowQ's B projection as extra rows (_b).
# The Rows kernel also with its products as int8 dot products (_rows_dot, INT_DOT; for
# devices that accelerate them).
set(gemv_variants "|" "_lr|LOWRANK=1" "_norm|NORM_INPUT=1" "_norm_b|NORM_INPUT=1 B_ROWS=1" "_pre|NORM_PRE=1"
                  "_pre_b|NORM_PRE=1 B_ROWS=1" "_res|RESID_OUT=1" "_lr_res|LOWRANK=1 RESID_OUT=1")
foreach(form "|matmul_q4_gemv.comp|" "_subgroup|matmul_q4_gemv.comp|USE_SUBGROUP=1"
             "_bcast|matmul_q4_gemv.comp|X_BROADCAST=1" "_rows|matmul_q4_gemv_rows.comp|"
             "_rows_dot|matmul_q4_gemv_rows.comp|INT_DOT=1")
  string(REPLACE "|" ";" form "${form}")
  list(GET form 0 form_name)
  list(GET form 1 form_source)
  list(GET form 2 form_define)
  foreach(variant ${gemv_variants})
    string(REPLACE "|" ";" variant "${variant}")
    list(GET variant 0 variant_name)
    list(GET variant 1 variant_defines)
    separate_arguments(defines UNIX_COMMAND "${form_define} ${variant_defines}")
    glowq_shader(matmul_q4_gemv${form_name}${variant_name} ${form_source} ${defines})
  endforeach()
endforeach()
glowq_shader(matmul_f32 matmul_dense.comp)
glowq_shader(matmul_f32_subgroup matmul_dense.comp USE_SUBGROUP=1)
glowq_shader(matmul_f16 matmul_dense.comp WEIGHT_F16=1)
glowq_shader(matmul_f16_subgroup matmul_dense.comp WEIGHT_F16=1 USE_SUBGROUP=1)
glowq_shader(matmul_f32_bcast matmul_dense.comp X_BROADCAST=1)
glowq_shader(matmul_f16_bcast matmul_dense.comp WEIGHT_F16=1 X_BROADCAST=1)
glowq_shader(matmul_q8 matmul_dense.comp WEIGHT_Q8=1)
glowq_shader(matmul_q8_subgroup matmul_dense.comp WEIGHT_Q8=1 USE_SUBGROUP=1)
glowq_shader(matmul_q8_bcast matmul_dense.comp WEIGHT_Q8=1 X_BROADCAST=1)
glowq_shader(test_step_axpy test/step_axpy.comp)
glowq_shader(embed_q4 embed.comp EMBED_Q4=1)
glowq_shader(embed_f16 embed.comp)
glowq_shader(embed_q8 embed.comp EMBED_Q8=1)
glowq_shader(rmsnorm rmsnorm.comp)
glowq_shader(rmsnorm_add rmsnorm.comp ADD=1)
glowq_shader(rope_kv rope_kv.comp)
glowq_shader(rope_kv_lr rope_kv.comp LOWRANK=1)
glowq_shader(rope_kv_lr_coop rope_kv.comp LOWRANK=1 LR_COOP=1)
glowq_shader(rope_kv_heads rope_kv.comp HEADS=1)
glowq_shader(rope_kv_heads_lr rope_kv.comp HEADS=1 LOWRANK=1)
glowq_shader(attention attention.comp)
glowq_shader(silu_mul silu_mul.comp)
glowq_shader(silu_mul_lr silu_mul.comp LOWRANK=1)
glowq_shader(silu_mul_lr_coop silu_mul.comp LOWRANK=1 LR_COOP=1)
glowq_shader(second_moments second_moments.comp)
