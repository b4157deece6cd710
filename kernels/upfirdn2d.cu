/* upfirdn2d: upsample by zero insertion, pad, FIR-filter, downsample.

   Computes, for every plane p = n*C + c and output pixel (oy, ox),

       y[p, oy, ox] = sum_{ky, kx} w[ky, kx] * u[p, oy*down + ky - py0, ox*down + kx - px0]

   where u is x zero-inserted by `up` (u[p, i*up, j*up] = x[p, i, j], zero elsewhere and
   outside the image; a negative py0/px0 crops). w is the cross-correlation weight: the
   Python side has already flipped the user's filter (unless flip_filter) and applied gain.

   Layouts (contiguous, row-major):
       x   [P, H, W]      P = N*C planes
       w   [fh, fw]
       y   [P, Ho, Wo]

   Thread mapping: one thread per output element, i = (p*Ho + oy)*Wo + ox. It gathers the
   taps that land on real input pixels: only every up-th tap row / column does, so the tap
   loops start at the first such tap and step by up. No thread writes anything but its own y.

   The backward is this same kernel with up and down swapped, w flipped and the padding
   adjusted (see Upfirdn2d.backward), so there is no separate gradient kernel.

   Must match: minigan.ops.upfirdn2d.upfirdn2d_forward_reference.
*/

/* a mod m in [0, m) for m > 0, also for negative a (C's % truncates toward zero). */
__device__ __forceinline__ int positive_mod(int a, int m) {
    int r = a % m;
    return r < 0 ? r + m : r;
}

template <typename T>
__device__ void upfirdn2d_impl(const T* __restrict__ x, const T* __restrict__ w,
                               T* __restrict__ y, int planes, int H, int W, int fh, int fw,
                               int Ho, int Wo, int up, int down, int px0, int py0) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long total = (long long)planes * Ho * Wo;
    if (i >= total) return;
    int ox = (int)(i % Wo);
    int oy = (int)((i / Wo) % Ho);
    long long p = i / ((long long)Wo * Ho);
    const T* plane = x + p * H * W;

    int ky0 = positive_mod(py0 - oy * down, up);
    int kx0 = positive_mod(px0 - ox * down, up);
    T acc = T(0);
    for (int ky = ky0; ky < fh; ky += up) {
        int uy = oy * down + ky - py0;          /* row in the zero-inserted image */
        if (uy < 0 || uy >= H * up) continue;
        int iy = uy / up;
        for (int kx = kx0; kx < fw; kx += up) {
            int ux = ox * down + kx - px0;
            if (ux < 0 || ux >= W * up) continue;
            acc += w[ky * fw + kx] * plane[iy * W + ux / up];
        }
    }
    y[i] = acc;
}

extern "C" __global__ void upfirdn2d_f32(const float* x, const float* w, float* y, int planes,
                                         int H, int W, int fh, int fw, int Ho, int Wo, int up,
                                         int down, int px0, int py0) {
    upfirdn2d_impl<float>(x, w, y, planes, H, W, fh, fw, Ho, Wo, up, down, px0, py0);
}

extern "C" __global__ void upfirdn2d_f64(const double* x, const double* w, double* y,
                                         int planes, int H, int W, int fh, int fw, int Ho,
                                         int Wo, int up, int down, int px0, int py0) {
    upfirdn2d_impl<double>(x, w, y, planes, H, W, fh, fw, Ho, Wo, up, down, px0, py0);
}
