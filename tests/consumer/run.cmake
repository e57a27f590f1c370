# Install the build tree into a scratch prefix, then configure, build and run tests/consumer against it.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build -G ${GENERATOR}
                -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                "-DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}"
                "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}"
                "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINKER_FLAGS}"
                "-DCMAKE_BUILD_TYPE=${CONSUMER_BUILD_TYPE}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer did not match the seed event: ${rc}")
endif()
if(NOT EXISTS ${WORK_DIR}/prefix/bin/cwfilter)
  message(FATAL_ERROR "bin/cwfilter was not installed")
endif()
