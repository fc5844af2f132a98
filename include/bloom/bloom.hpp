// Umbrella header: everything in bloom's core (no optional hash policies).
#pragma once

#include <bloom/config.hpp>
#include <bloom/error.hpp>
#include <bloom/tensor.hpp>

#include <bloom/hash/policy.hpp>
#include <bloom/hash/modulo.hpp>
#include <bloom/hash/multiply_shift.hpp>
#include <bloom/hash/murmur3.hpp>
#include <bloom/hash/xxhash.hpp>

#include <bloom/encoding/spec.hpp>
