# `cmake --install`: glowq.h, libglowq.so (with its SONAME link), a pkg-config file and a
# CMake package (find_package(glowq) gives glowq::glowq).
include(CMakePackageConfigHelpers)

install(TARGETS glowq_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/glowq/glowq.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/glowq)

# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix).
file(RELATIVE_PATH pc_to_prefix "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
set(pc_libdir ${CMAKE_INSTALL_LIBDIR})
set(pc_includedir ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/glowq.pc.in ${CMAKE_BINARY_DIR}/glowq.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/glowq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/glowq)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/glowqConfig.cmake.in ${CMAKE_BINARY_DIR}/glowqConfig.cmake
                              INSTALL_DESTINATION ${cmake_dir} PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/glowqConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/glowqConfig.cmake ${CMAKE_BINARY_DIR}/glowqConfigVersion.cmake DESTINATION ${cmake_dir})
