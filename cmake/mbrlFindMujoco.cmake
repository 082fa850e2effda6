# Makes sure the imported target mujoco::mujoco exists, if MuJoCo can be found; used by
# CMakeLists.txt and by the installed mbrlConfig.cmake (mbrl::envs links mujoco::mujoco).
#
#  1. a mujoco::mujoco defined already (e.g. by the consumer's own find_package) is used;
#  2. else MuJoCo's CMake package (Debian's libmujoco-dev ships one in
#     <libdir>/cmake/mujoco, which itself needs OpenGL's CMake module to succeed);
#  3. else find_path/find_library for mujoco/mujoco.h and libmujoco make the imported target.
#
# Debian's mujocoConfig (2.2.2) lists /usr/include/libqhull_r/ among mujoco::mujoco's include
# directories, a directory only libqhull-dev provides (not a dependency of libmujoco-dev); CMake
# refuses to generate for a target that names a missing include directory, so the missing ones
# are removed from the target.
if(NOT TARGET mujoco::mujoco)
  find_package(mujoco CONFIG QUIET)
endif()

if(TARGET mujoco::mujoco)
  get_target_property(_mbrl_mujoco_imported mujoco::mujoco IMPORTED)
  get_target_property(_mbrl_mujoco_incs mujoco::mujoco INTERFACE_INCLUDE_DIRECTORIES)
  if(_mbrl_mujoco_imported AND _mbrl_mujoco_incs)
    set(_mbrl_mujoco_kept "")
    foreach(_mbrl_dir IN LISTS _mbrl_mujoco_incs)
      if(_mbrl_dir MATCHES "\\$<" OR EXISTS "${_mbrl_dir}")
        list(APPEND _mbrl_mujoco_kept "${_mbrl_dir}")
      endif()
    endforeach()
    if(NOT _mbrl_mujoco_kept STREQUAL _mbrl_mujoco_incs)
      set_property(TARGET mujoco::mujoco PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_mbrl_mujoco_kept}")
    endif()
  endif()
  unset(_mbrl_dir)
  unset(_mbrl_mujoco_kept)
  unset(_mbrl_mujoco_incs)
  unset(_mbrl_mujoco_imported)
else()
  find_path(MBRL_MUJOCO_INCLUDE_DIR mujoco/mujoco.h)
  find_library(MBRL_MUJOCO_LIBRARY mujoco)
  mark_as_advanced(MBRL_MUJOCO_INCLUDE_DIR MBRL_MUJOCO_LIBRARY)
  if(MBRL_MUJOCO_INCLUDE_DIR AND MBRL_MUJOCO_LIBRARY)
    add_library(mujoco::mujoco UNKNOWN IMPORTED)
    set_target_properties(mujoco::mujoco PROPERTIES
      IMPORTED_LOCATION "${MBRL_MUJOCO_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${MBRL_MUJOCO_INCLUDE_DIR}")
  endif()
endif()
