// Python bindings of the gated scan kernels (flowdeblur.ops.scan_native).
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  using namespace flowdeblur_scan;
  m.def("forward", &forward_nchw, "four-direction gated scan, contiguous (N, C, H, W)");
  m.def("backward", &backward_nchw, "its gradients (grad_x, grad_gates)");
  m.def("forward_nhwc", &forward_nhwc, "four-direction gated scan, channels-last");
  m.def("backward_nhwc", &backward_nhwc, "its gradients (grad_x, grad_gates), channels-last");
  m.def("release_cached", &release_cached, "free the kept outputs; returns their bytes");
}
