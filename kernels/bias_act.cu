/* bias_act: bias add, activation, gain and clamp in one pass, and its gradient.

   Forward, for every element i of x (channel c on the tensor's axis `dim`):

       z = x[i] + b[c];   z = z > 0 ? z : z * slope;   z *= gain;
       y[i] = clamp >= 0 ? min(max(z, -clamp), clamp) : z

   slope is 1 for linear, 0 for relu, alpha for lrelu; clamp < 0 means no clamp.

   Gradient, dx[i] = dy[i] * f'(y[i]), read off the saved output y:
       0                  where the clamp cut the value off (|y| >= clamp)
       dy * gain          where the activation's input was positive (y * gain > 0)
       dy * gain * slope  elsewhere
   It is linear in dy, so the double backward is this same kernel again. The bias gradient
   (a sum of dx over every axis but `dim`) is left to the array library.

   Layouts: x, y, dy, dx contiguous, any rank, viewed as [outer, C, inner] with
   inner = product of the sizes after `dim`; b [C].

   Thread mapping: one thread per element i; its channel is (i / inner) % C.

   Must match: minigan.ops.bias_act.bias_act_reference.
*/

template <typename T>
__device__ void bias_act_fwd_impl(const T* __restrict__ x, const T* __restrict__ b,
                                  T* __restrict__ y, long long n, int C, int inner, T slope,
                                  T gain, T clamp) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    T z = x[i] + b[(i / inner) % C];
    if (z < T(0)) z = z * slope;
    z = z * gain;
    if (clamp >= T(0)) z = z > clamp ? clamp : (z < -clamp ? -clamp : z);
    y[i] = z;
}

template <typename T>
__device__ void bias_act_grad_impl(const T* __restrict__ dy, const T* __restrict__ y,
                                   T* __restrict__ dx, long long n, T slope, T gain,
                                   T clamp) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    T v = y[i];
    T g;
    if (clamp >= T(0) && (v >= clamp || v <= -clamp)) g = T(0);
    else if (v * gain > T(0)) g = dy[i] * gain;
    else g = dy[i] * (gain * slope);
    dx[i] = g;
}

extern "C" __global__ void bias_act_fwd_f32(const float* x, const float* b, float* y,
                                            long long n, int C, int inner, float slope,
                                            float gain, float clamp) {
    bias_act_fwd_impl<float>(x, b, y, n, C, inner, slope, gain, clamp);
}

extern "C" __global__ void bias_act_fwd_f64(const double* x, const double* b, double* y,
                                            long long n, int C, int inner, double slope,
                                            double gain, double clamp) {
    bias_act_fwd_impl<double>(x, b, y, n, C, inner, slope, gain, clamp);
}

extern "C" __global__ void bias_act_grad_f32(const float* dy, const float* y, float* dx,
                                             long long n, float slope, float gain,
                                             float clamp) {
    bias_act_grad_impl<float>(dy, y, dx, n, slope, gain, clamp);
}

extern "C" __global__ void bias_act_grad_f64(const double* dy, const double* y, double* dx,
                                             long long n, double slope, double gain,
                                             double clamp) {
    bias_act_grad_impl<double>(dy, y, dx, n, slope, gain, clamp);
}
