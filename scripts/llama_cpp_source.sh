# Sourced by the llama.cpp build scripts: the llama.cpp tree vendored in PyPI's
# llama-cpp-python source archive, downloaded once into the cache and unpacked into a
# build folder. Defines llama_cpp_version, llama_cpp_archive and llama_cpp_unpack DEST.
llama_cpp_version=0.3.36
llama_cpp_archive=${GLOWQ_CACHE:-$HOME/.cache/glowq}/llama_cpp_python-$llama_cpp_version.tar.gz

# Unpacks the vendored llama.cpp into DEST/src (downloading the archive first if needed).
llama_cpp_unpack() {
  local dest=$1 cache tmp
  cache=$(dirname "$llama_cpp_archive")
  mkdir -p "$cache"
  if [ ! -f "$llama_cpp_archive" ]; then
    echo "llama.cpp: downloading llama-cpp-python==$llama_cpp_version source" >&2
    python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      "llama-cpp-python==$llama_cpp_version" -d "$cache" >&2
  fi
  [ -f "$dest/src/CMakeLists.txt" ] && return 0
  rm -rf "$dest"
  tmp=$(mktemp -d "$cache/llama.cpp-src.XXXXXX")
  tar -xzf "$llama_cpp_archive" -C "$tmp" "llama_cpp_python-$llama_cpp_version/vendor/llama.cpp"
  mkdir -p "$dest"
  mv "$tmp/llama_cpp_python-$llama_cpp_version/vendor/llama.cpp" "$dest/src"
  rm -rf "$tmp"
}
