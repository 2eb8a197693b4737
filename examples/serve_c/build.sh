#!/bin/sh
# Build serve.c against the libonnxruntime shipped inside the installed onnxruntime wheel.
#
#   examples/serve_c/build.sh [OUTPUT_DIR]      (default: examples/serve_c/build)
#
# Environment: PYTHON (default python3, else python) picks the interpreter whose onnxruntime
# is used; CC (default gcc) the compiler. Prints the path of the built program.
#
# The wheel has no headers (serve.c declares the C API subset it uses) and its library file
# is named libonnxruntime.so.<version> while its SONAME is libonnxruntime.so.1. A binary
# linked against it looks for libonnxruntime.so.1 at run time, which the wheel lacks, so
# this script puts a libonnxruntime.so.1 symlink next to the program and sets the rpath to
# $ORIGIN: the program then finds the wheel's library from wherever it is started.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
cc=${CC:-gcc}
if [ -z "${PYTHON:-}" ]; then
    if command -v python3 >/dev/null 2>&1; then PYTHON=python3; else PYTHON=python; fi
fi

# The wheel's shared library (libonnxruntime.so.X.Y.Z on Linux, libonnxruntime.X.Y.Z.dylib on
# macOS) and its API version (ONNX Runtime 1.N serves C API version N).
info=$("$PYTHON" -c "
import glob, os, onnxruntime
capi = os.path.join(os.path.dirname(onnxruntime.__file__), 'capi')
libs = sorted(glob.glob(os.path.join(capi, 'libonnxruntime.so*'))
              + glob.glob(os.path.join(capi, 'libonnxruntime*.dylib')))
libs = [p for p in libs if 'providers' not in p]
if not libs:
    raise SystemExit('no libonnxruntime shared library in ' + capi)
print(libs[-1])
print(onnxruntime.__version__.split('.')[1])
")
lib=$(printf '%s\n' "$info" | sed -n 1p)
api=$(printf '%s\n' "$info" | sed -n 2p)

mkdir -p "$out"
case "$lib" in
    *.dylib)   # macOS resolves the library by its install name; point the rpath at the wheel
        link="$lib"
        rpath="-Wl,-rpath,$(dirname "$lib")" ;;
    *)
        link="$out/libonnxruntime.so.1"
        ln -sf "$lib" "$link"
        rpath="-Wl,-rpath,\$ORIGIN" ;;
esac
"$cc" -std=c11 -O2 -Wall -Wextra -DORT_API_VERSION="$api" -o "$out/serve" "$here/serve.c" \
    "$link" "$rpath"
echo "$out/serve"
