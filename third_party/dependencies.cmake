# Finds the system packages glowq builds against (all from Debian 12; see scripts/setup.sh).
# No third-party code lives in this repository.
find_package(Threads REQUIRED)
if(NOT GLOWQ_LOADER_ONLY)
  find_package(Vulkan REQUIRED)
  find_program(GLSLC glslc REQUIRED)
  find_program(SPIRV_VAL spirv-val REQUIRED)
endif()
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
if(GLOWQ_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
