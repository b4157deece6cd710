/* conv2d.cu: im2col and col2im, the gather pair that turns 2-D convolution into matmul.
 *
 * What it computes. The fast CUDA path of minigan.ops.conv2d runs each op of the conv trio
 * as these kernels around one cupy.matmul per group and chunk of samples:
 *   conv2d(x, w)            im2col(x) -> y = W @ cols
 *   conv_transpose2d(y, w)  cols = W^T @ y -> col2im(cols)
 *   conv2d_weight(x, g)     im2col(x) -> dw = g @ cols^T
 *
 * Layouts (C-contiguous, float32 or float64):
 *   x     [N, C, H, W]            an image batch (the output of col2im has this layout too)
 *   cols  [C, kh, kw, N, Ho, Wo]  cols[c,a,b,n,i,j] = x[n, c, i*stride + a - pad, j*stride + b - pad],
 *                                 0 where that pixel lies in the zero padding; read as the
 *                                 matrix [C*kh*kw, N*Ho*Wo] (batch inside, so one matmul
 *                                 covers the whole chunk of samples)
 *
 * Thread mapping: one thread per output element. im2col: one thread per column entry (a pure
 * copy). col2im: one thread per image pixel, which gathers the (at most kh*kw) column entries
 * that were read from it, in the order a, then b; no atomics, so results are deterministic.
 *
 * Must match: the numba kernels _im2col / _col2im in minigan/ops/_conv_numba.py, and through
 * the whole op the references conv2d_forward_reference, conv_transpose2d_forward_reference
 * and conv2d_weight_reference in minigan/ops/conv2d.py (tests/test_op_conv2d.py).
 */

template <typename T>
__device__ void im2col_impl(const T* __restrict__ x, T* __restrict__ cols, int n_, int c_,
                            int h_, int w_, int kh, int kw, int ho, int wo, int stride, int pad)
{
    const long long total = (long long)c_ * kh * kw * n_ * ho * wo;
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total) return;
    long long t = idx;
    const int j = (int)(t % wo); t /= wo;
    const int i = (int)(t % ho); t /= ho;
    const int n = (int)(t % n_); t /= n_;
    const int b = (int)(t % kw); t /= kw;
    const int a = (int)(t % kh);
    const int c = (int)(t / kh);
    const int hi = i * stride + a - pad;
    const int wi = j * stride + b - pad;
    const bool inside = hi >= 0 && hi < h_ && wi >= 0 && wi < w_;
    cols[idx] = inside ? x[(((long long)n * c_ + c) * h_ + hi) * w_ + wi] : T(0);
}

template <typename T>
__device__ void col2im_impl(const T* __restrict__ cols, T* __restrict__ x, int n_, int c_,
                            int h_, int w_, int kh, int kw, int ho, int wo, int stride, int pad)
{
    const long long total = (long long)n_ * c_ * h_ * w_;
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total) return;
    long long t = idx;
    const int w = (int)(t % w_); t /= w_;
    const int h = (int)(t % h_); t /= h_;
    const int c = (int)(t % c_);
    const int n = (int)(t / c_);
    T acc = T(0);
    for (int a = 0; a < kh; ++a) {
        const int hs = h + pad - a;                       /* = i * stride for output row i */
        if (hs < 0 || hs % stride != 0 || hs / stride >= ho) continue;
        const int i = hs / stride;
        for (int b = 0; b < kw; ++b) {
            const int ws = w + pad - b;                   /* = j * stride for output column j */
            if (ws < 0 || ws % stride != 0 || ws / stride >= wo) continue;
            const int j = ws / stride;
            acc += cols[((((long long)c * kh + a) * kw + b) * n_ + n) * ho * wo + (long long)i * wo + j];
        }
    }
    x[idx] = acc;
}

extern "C" __global__ void im2col_f32(const float* x, float* cols, int n, int c, int h, int w,
                                      int kh, int kw, int ho, int wo, int stride, int pad)
{
    im2col_impl<float>(x, cols, n, c, h, w, kh, kw, ho, wo, stride, pad);
}

extern "C" __global__ void im2col_f64(const double* x, double* cols, int n, int c, int h, int w,
                                      int kh, int kw, int ho, int wo, int stride, int pad)
{
    im2col_impl<double>(x, cols, n, c, h, w, kh, kw, ho, wo, stride, pad);
}

extern "C" __global__ void col2im_f32(const float* cols, float* x, int n, int c, int h, int w,
                                      int kh, int kw, int ho, int wo, int stride, int pad)
{
    col2im_impl<float>(cols, x, n, c, h, w, kh, kw, ho, wo, stride, pad);
}

extern "C" __global__ void col2im_f64(const double* cols, double* x, int n, int c, int h, int w,
                                      int kh, int kw, int ho, int wo, int stride, int pad)
{
    col2im_impl<double>(cols, x, n, c, h, w, kh, kw, ho, wo, stride, pad);
}
