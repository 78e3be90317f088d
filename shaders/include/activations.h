/* The gated FFN activations' constants: the one definition for the GELU kernel
 * (silu_mul.comp) and the CPU reference (reference_forward.cpp). GELU's tanh form, as
 * ggml_gelu and Gemma's gelu_pytorch_tanh: 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))). */
#ifndef GLOWQ_ACTIVATIONS_H
#define GLOWQ_ACTIVATIONS_H

#define GQ_GELU_SQRT_2_OVER_PI 0.79788456080286535588
#define GQ_GELU_CUBIC 0.044715

#endif
