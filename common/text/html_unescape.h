// Python's html.unescape over code points: numeric references (&#65; &#x41;, with or without ';', with the HTML5
// replacement rules for invalid numbers) and HTML5 named references (longest known prefix when ';' is missing).
#pragma once

#include <string>
#include <string_view>

namespace kd::text {

// html.unescape(text), exactly as CPython 3.11's html module does it (same regex, same tables).
std::u32string html_unescape(std::u32string_view text);

// The value of the named entity `name` (without '&', e.g. "amp;" or "amp") in Python's html.entities.html5;
// empty when unknown.
std::u32string html5_entity(std::string_view name);

// ftfy's extra upper-cased entity `name` ("EACUTE;" -> "É"); empty when unknown.
std::u32string ftfy_upper_entity(std::string_view name);

}  // namespace kd::text
