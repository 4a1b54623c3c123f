#!/usr/bin/env bash
# Installs the runtime component of BUILD into a temporary prefix, builds the
# embedding example outside the tree against it twice (find_package(hymir)
# and pkg-config), runs both on the cpu target and checks that neither links
# LLVM/MLIR nor carries the oracle, the reference evaluator or the writer.
# Usage: run-embed-outside-tree.sh SOURCE_DIR BUILD_DIR C_COMPILER
#          CXX_COMPILER GENERATOR [HYMIR_COMPILE]
# Without HYMIR_COMPILE (a runtime-only build) the programs are built and
# checked but not run: there is no compiler to make their artifact.
set -euo pipefail
src=$1 build=$2 cc=$3 cxx=$4 generator=$5 compile=${6:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" --component runtime >/dev/null
for f in include/hymir/Runtime/Runtime.h include/hymir/Runtime/hymir.h \
  lib/cmake/hymir/hymirConfig.cmake lib/pkgconfig/hymir.pc; do
  [ -f "$prefix/$f" ] || { echo "FAIL: the install has no $f"; exit 1; }
done
for f in Reference.h ArtifactWriter.h artifact_generated.h; do
  if [ -e "$prefix/include/hymir/Runtime/$f" ]; then
    echo "FAIL: the runtime install holds $f"; exit 1
  fi
done
if ls "$prefix"/lib/*.a | grep -E 'Oracle|Reference|Writer'; then
  echo "FAIL: the runtime install holds more than the runtime"; exit 1
fi

# The application, outside the tree: the example's source and this folder's
# CMakeLists.txt only.
mkdir -p "$work/app"
cp "$src/test/install/app/CMakeLists.txt" "$src/examples/embed/embed.c" "$work/app/"
cmake -S "$work/app" -B "$work/app-build" -G "$generator" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/app-build" >/dev/null
apps=("$work/app-build/embed")

# The same program through pkg-config.
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs hymir)
  # shellcheck disable=SC2086
  "$cc" -O2 -o "$work/embed-pc" "$work/app/embed.c" $flags
  apps+=("$work/embed-pc")
fi

for app in "${apps[@]}"; do
  if ldd "$app" | grep -Ei 'llvm|mlir'; then
    echo "FAIL: $app links LLVM or MLIR"; exit 1
  fi
  if nm -C "$app" | grep -E 'hymir::oracle::|hymir::(evaluateReference|serializeArtifact|writeArtifact)\('; then
    echo "FAIL: $app carries the oracle, the reference evaluator or the writer"; exit 1
  fi
done

if [ -z "$compile" ]; then
  echo "ok: built ${apps[*]##*/} against the installed runtime (not run: no hymir-compile)"
  exit 0
fi
"$compile" "$src/examples/embed/gated_projection.mlir" -o "$work/embed.hymir" --target=cpu
for app in "${apps[@]}"; do
  "$app" "$work/embed.hymir" "$work/weights.safetensors" cpu
done
echo "ok: ${apps[*]##*/} built against the installed runtime and ran on cpu"
