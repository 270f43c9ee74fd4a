# The C++ standard kd compiles with, chosen after find_package(Torch): kd's own code is C++17 (and C++20-clean);
# LibTorch 2.12 and later require C++20 from code that includes ATen, so those builds use C++20. A standard given
# on the command line (-DCMAKE_CXX_STANDARD=20) wins.
if(NOT DEFINED CMAKE_CXX_STANDARD)
  if(DEFINED Torch_VERSION AND Torch_VERSION VERSION_GREATER_EQUAL 2.12)
    set(CMAKE_CXX_STANDARD 20)
  else()
    set(CMAKE_CXX_STANDARD 17)
  endif()
endif()
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
message(STATUS "kd: LibTorch ${Torch_VERSION}, C++${CMAKE_CXX_STANDARD}")
