// The autodiff area's draws: the shared real draws of <bloom/random.hpp>.
#pragma once

#include <bloom/random.hpp>

namespace bloom {
namespace ad {
namespace detail {

using ::bloom::detail::standard_normal;
using ::bloom::detail::uniform01;

}  // namespace detail
}  // namespace ad
}  // namespace bloom
