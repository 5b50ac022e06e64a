# mymalloc-config.cmake: find_package(mymalloc) for a mymalloc installed by
# `make install` (docs/BUILD.md). Relocatable: it finds the installation
# from where it lies ($PREFIX/lib/cmake/mymalloc/), so a tree staged with
# DESTDIR or moved elsewhere works as it is. Imported targets:
#   mymalloc::mymalloc  libmymalloc.so: the allocator (it also replaces the
#                       program's malloc family) and the API of mymalloc.h
#                       and mymalloc/*.h
#   mymalloc::static    libmymalloc.a, the same linked in (brings -lpthread)
#   mymalloc::realtime  libmymalloc-rt.so, the library's real-time mode
#                       (docs/REALTIME.md)
# All three carry the include directory. No library has a SONAME: the
# targets link with -lmymalloc (-lmymalloc-rt), so a program records the
# name, not the path; it needs the library directory at run time (rpath,
# ld.so.conf or LD_LIBRARY_PATH) where that is not a system directory.

get_filename_component(_mymalloc_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

include(CMakeFindDependencyMacro)
find_dependency(Threads)

foreach(_mymalloc_file include/mymalloc.h lib/libmymalloc.so lib/libmymalloc.a lib/libmymalloc-rt.so)
  if(NOT EXISTS "${_mymalloc_prefix}/${_mymalloc_file}")
    set(mymalloc_FOUND FALSE)
    set(mymalloc_NOT_FOUND_MESSAGE "${_mymalloc_prefix}/${_mymalloc_file} is missing: reinstall mymalloc (make install)")
    return()
  endif()
endforeach()

if(NOT TARGET mymalloc::mymalloc)
  add_library(mymalloc::mymalloc SHARED IMPORTED)
  set_target_properties(mymalloc::mymalloc PROPERTIES
    IMPORTED_LOCATION "${_mymalloc_prefix}/lib/libmymalloc.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_mymalloc_prefix}/include")

  add_library(mymalloc::static STATIC IMPORTED)
  set_target_properties(mymalloc::static PROPERTIES
    IMPORTED_LOCATION "${_mymalloc_prefix}/lib/libmymalloc.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${_mymalloc_prefix}/include"
    INTERFACE_LINK_LIBRARIES Threads::Threads)

  add_library(mymalloc::realtime SHARED IMPORTED)
  set_target_properties(mymalloc::realtime PROPERTIES
    IMPORTED_LOCATION "${_mymalloc_prefix}/lib/libmymalloc-rt.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_mymalloc_prefix}/include")
endif()

set(mymalloc_INCLUDE_DIRS "${_mymalloc_prefix}/include")
unset(_mymalloc_prefix)
unset(_mymalloc_file)
