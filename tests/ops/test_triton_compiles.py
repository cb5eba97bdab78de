"""The Triton kernels compile for an H100 (sm_90) on this machine, without a GPU: Triton lowers them to PTX and
its bundled ptxas assembles them. This catches what the interpreter cannot (types, layouts, register use),
though not speed or numerics on the device."""

from __future__ import annotations

import os

import pytest

triton = pytest.importorskip("triton")
if os.environ.get("TRITON_INTERPRET") == "1":
    pytest.skip("compiles for the GPU only outside the interpreter", allow_module_level=True)

from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from flowdeblur.ops import (  # noqa: E402
    census_triton,
    correlation_triton,
    occlusion_triton,
    scan_triton,
    smoothness_triton,
    warp_triton,
)

H100 = GPUTarget("cuda", 90, 32)


def ints(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "i32")


SCAN_INTS = ints("B", "C", "H", "W", "sxb", "sxc", "sxh", "sxw", "sgb", "sgc", "sgh", "sgw")


@pytest.mark.parametrize(("dtype", "channels_last"), [("fp32", False), ("bf16", True)])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_scan_kernels_compile_for_sm90(direction: str, dtype: str, channels_last: bool) -> None:
    inputs = {"x_ptr": f"*{dtype}", "g_ptr": f"*{dtype}"}
    if direction == "forward":
        kernel, outputs = scan_triton._forward_kernel, {"out_ptr": "*fp32"}
    else:
        kernel = scan_triton._backward_kernel
        outputs = {name: "*fp32" for name in ("h_ptr", "dh_ptr", "dx_ptr", "dg_ptr")}
    signature = {**inputs, **outputs, **SCAN_INTS, "CHANNELS_LAST": "constexpr", "BLOCK_L": "constexpr"}
    constants = {"CHANNELS_LAST": channels_last, "BLOCK_L": scan_triton.BLOCK_L}
    compiled = triton.compile(ASTSource(kernel, signature, constants), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_correlation_kernels_compile_for_sm90(direction: str) -> None:
    out = {}
    if direction == "forward":
        kernel, pointers, last = correlation_triton._forward_kernel, ("f1_ptr", "f2_ptr", "out_ptr"), "so"
        out = {"out_ptr": "*bf16"}  # costs stored in the estimator's dtype
    else:
        kernel, pointers, last = (
            correlation_triton._backward_kernel,
            ("f1_ptr", "f2_ptr", "g_ptr", "d1_ptr", "d2_ptr"),
            "sg",
        )
    strides = [f"{t}{s}" for t in ("s1", "s2") for s in "bchw"] + [f"{last}{s}" for s in "bkhw"]
    signature = {**dict.fromkeys(pointers, "*fp32"), **out, **ints("C", "H", "W", "radius", *strides)}
    signature |= {"BLOCK_P": "constexpr", "BLOCK_C": "constexpr"}
    constants = {"BLOCK_P": correlation_triton.BLOCK_P, "BLOCK_C": correlation_triton.BLOCK_C}
    compiled = triton.compile(ASTSource(kernel, signature, constants), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]


@pytest.mark.parametrize("kernel", ["forward", "backward", "to_rgb"])
def test_census_kernels_compile_for_sm90(kernel: str) -> None:
    strides = [f"s{t}{s}" for t in "ab" for s in "bchw"]
    if kernel == "forward":
        jit, pointers = census_triton._forward_kernel, ("a_ptr", "b_ptr", "out_ptr")
        names = ("H", "W", "radius", "repeat")
    elif kernel == "backward":
        jit, pointers = census_triton._backward_kernel, ("a_ptr", "b_ptr", "g_ptr", "da_ptr", "db_ptr")
        names = ("H", "W", "radius", "repeat")
    else:
        jit, pointers, names = census_triton._to_rgb_kernel, ("g_ptr", "out_ptr"), ("HW", "W")
        strides = [f"so{s}" for s in "bchw"]
    signature = {**dict.fromkeys(pointers, "*fp32"), **ints(*names, *strides), "BLOCK_P": "constexpr"}
    constants = {"BLOCK_P": census_triton.BLOCK_P}
    if kernel == "backward":
        signature = {**signature, "NEED_A": "constexpr"}
        constants["NEED_A"] = True
    compiled = triton.compile(ASTSource(jit, signature, constants), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_smoothness_kernels_compile_for_sm90(direction: str) -> None:
    strides = [f"s{t}{s}" for t in "fi" for s in "bchw"]
    if direction == "forward":
        jit, pointers = smoothness_triton._forward_kernel, ("f_ptr", "i_ptr", "out_ptr")
    else:
        jit, pointers = smoothness_triton._backward_kernel, ("f_ptr", "i_ptr", "g_ptr", "d_ptr")
    signature = {**dict.fromkeys(pointers, "*fp32"), **ints("C", "H", "W", "repeat"), "alpha": "fp32"}
    signature |= {"scale_x": "fp32", "scale_y": "fp32", **ints(*strides), "BLOCK_P": "constexpr"}
    compiled = triton.compile(ASTSource(jit, signature, {"BLOCK_P": smoothness_triton.BLOCK_P}), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_warp_kernels_compile_for_sm90(direction: str) -> None:
    if direction == "forward":
        jit, pointers, last = warp_triton._forward_kernel, ("i_ptr", "f_ptr", "out_ptr", "valid_ptr"), "so"
        constants = {"BLOCK_P": warp_triton.BLOCK_P}
    else:
        jit, pointers, last = warp_triton._backward_kernel, ("i_ptr", "f_ptr", "g_ptr", "di_ptr", "df_ptr"), "sg"
        constants = {"NEED_IMAGE": True, "BLOCK_P": warp_triton.BLOCK_P}
    strides = ["sib", "sin", "sic", "sih", "siw"] + [f"{t}{s}" for t in ("sf", last) for s in "bchw"]
    signature = {**dict.fromkeys(pointers, "*fp32"), **ints("C", "H", "W", "N", *strides)}
    signature |= dict.fromkeys(constants, "constexpr")
    compiled = triton.compile(ASTSource(jit, signature, constants), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]


@pytest.mark.parametrize("kernel", ["select", "finish", "backward"])
def test_occlusion_kernels_compile_for_sm90(kernel: str) -> None:
    if kernel == "select":
        jit, pointers = occlusion_triton._select_kernel, ("e_ptr", "v_ptr", "w_ptr", "q_ptr", "parts_ptr")
        names = ("parts_stride", "H", "W", "seb", "seh", "sew", "svb", "svh", "svw")
        constants = {"RADIUS": 3, "SEARCH_STEPS": occlusion_triton.SEARCH_STEPS, "BLOCK": occlusion_triton.BLOCK}
    elif kernel == "finish":
        jit, pointers = occlusion_triton._finish_kernel, ("parts_ptr", "means_ptr", "totals_ptr")
        names, constants = ("L", "R"), {"BLOCK_R": occlusion_triton.BLOCK_R}
    else:
        jit, pointers = occlusion_triton._backward_kernel, ("w_ptr", "g_ptr", "totals_ptr", "d_ptr")
        names, constants = ("level", "L", "HW"), {"BLOCK_E": occlusion_triton.BLOCK_E}
    signature = {**dict.fromkeys(pointers, "*fp32"), **ints(*names), **dict.fromkeys(constants, "constexpr")}
    if kernel == "select":
        signature["q_ptr"] = "*fp64"  # the loss's schedule is a float64 scalar
    compiled = triton.compile(ASTSource(jit, signature, constants), target=H100)
    assert ".target sm_90" in compiled.asm["ptx"] and compiled.asm["cubin"]
