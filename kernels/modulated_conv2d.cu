/* modulated_conv2d.cu: the per-sample parts of StyleGAN2's modulated convolution.
 *
 * What it computes. The fast path of minigan.ops.modulated_conv2d never builds per-sample
 * weights; it computes
 *     y[n,o] = d[n,o] * conv2d(x[n] * s[n], w)[o]
 * with one shared convolution (kernels/conv2d.cu im2col/col2im around cupy.matmul) between
 * per-plane scalings, and these kernels supply the per-sample parts:
 *   demodulation   d[n,o] = 1 / sqrt(sum_c s[n,c]^2 * sum_taps w[o,c,tap]^2 + eps)
 *   scale_planes   out[p, :] = x[p, :] * scale[p]     (x * s forward, u * d, g * d, gxs * s)
 *   plane_dot      out[p] = sum_i a[p, i] * b[p, i]   (the styles' and demodulation's gradients)
 *
 * Layouts (C-contiguous, float32 or float64):
 *   w [O, C, kh, kw]   s [N, C]   d [N, O]
 *   x, a, b, out [P, L] where P = N*C (or N*O) planes of L = H*W pixels; scale, out of plane_dot [P]
 *
 * Thread mapping: demodulation: one thread per (n, o). scale_planes: one thread per element.
 * plane_dot: one block of 256 threads per plane, a strided partial sum per thread, then a
 * fixed-order tree in shared memory (no atomics, deterministic).
 *
 * Must match: _NumbaKernels.demodulation / _scale_planes_py / _plane_dot_py in
 * minigan/ops/modulated_conv2d.py, and through the op modulated_conv2d_reference
 * (tests/test_op_modulated_conv2d.py).
 */

#define PLANE_DOT_THREADS 256

template <typename T>
__device__ void demodulation_impl(const T* __restrict__ w, const T* __restrict__ s,
                                  T* __restrict__ d, int n_, int o_, int c_, int taps, float eps)
{
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)n_ * o_) return;
    const int n = (int)(idx / o_);
    const int o = (int)(idx % o_);
    T total = T(0);
    for (int c = 0; c < c_; ++c) {
        const T* wc = w + ((long long)o * c_ + c) * taps;
        T squares = T(0);
        for (int t = 0; t < taps; ++t) squares += wc[t] * wc[t];
        const T sc = s[(long long)n * c_ + c];
        total += sc * sc * squares;
    }
    d[idx] = T(1) / sqrt(total + T(eps));
}

template <typename T>
__device__ void scale_planes_impl(const T* __restrict__ x, const T* __restrict__ scale,
                                  T* __restrict__ out, int planes, int length)
{
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)planes * length) return;
    out[idx] = x[idx] * scale[idx / length];
}

template <typename T>
__device__ void plane_dot_impl(const T* __restrict__ a, const T* __restrict__ b,
                               T* __restrict__ out, int length)
{
    __shared__ T partial[PLANE_DOT_THREADS];
    const long long base = (long long)blockIdx.x * length;
    T acc = T(0);
    for (int i = threadIdx.x; i < length; i += PLANE_DOT_THREADS) acc += a[base + i] * b[base + i];
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int stride = PLANE_DOT_THREADS / 2; stride > 0; stride /= 2) {
        if ((int)threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

extern "C" __global__ void demodulation_f32(const float* w, const float* s, float* d, int n, int o,
                                            int c, int taps, float eps)
{
    demodulation_impl<float>(w, s, d, n, o, c, taps, eps);
}

extern "C" __global__ void demodulation_f64(const double* w, const double* s, double* d, int n,
                                            int o, int c, int taps, float eps)
{
    demodulation_impl<double>(w, s, d, n, o, c, taps, eps);
}

extern "C" __global__ void scale_planes_f32(const float* x, const float* scale, float* out,
                                            int planes, int length)
{
    scale_planes_impl<float>(x, scale, out, planes, length);
}

extern "C" __global__ void scale_planes_f64(const double* x, const double* scale, double* out,
                                            int planes, int length)
{
    scale_planes_impl<double>(x, scale, out, planes, length);
}

/* Launch with grid = (planes,), block = (PLANE_DOT_THREADS,). */
extern "C" __global__ void plane_dot_f32(const float* a, const float* b, float* out, int length)
{
    plane_dot_impl<float>(a, b, out, length);
}

extern "C" __global__ void plane_dot_f64(const double* a, const double* b, double* out, int length)
{
    plane_dot_impl<double>(a, b, out, length);
}
