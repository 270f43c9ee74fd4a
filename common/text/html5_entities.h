// Generated Unicode tables for text cleaning: HTML5 named entities (Python's html.entities.html5) and ftfy's
// upper-case entity and character-width maps. Data lives in html5_entities.cpp, made by tools/gen_html5_entities.py.
#pragma once

#include <cstddef>

namespace kd::text {

struct NamedEntity {
  const char* name;   // ASCII entity name without the leading '&', e.g. "amp;" or "amp"
  char32_t value[3];  // one to three code points, zero-padded
};

struct WidthMapEntry {  // a code point and what replaces it
  char32_t code_point;
  char32_t value[3];
};

extern const NamedEntity kHtml5Entities[];
extern const size_t kHtml5EntityCount;
extern const NamedEntity kFtfyUpperEntities[];
extern const size_t kFtfyUpperEntityCount;
extern const WidthMapEntry kFtfyWidthMap[];
extern const size_t kFtfyWidthMapCount;
extern const WidthMapEntry kHtmlInvalidCharrefs[];  // number -> replacement (html._invalid_charrefs)
extern const size_t kHtmlInvalidCharrefCount;
extern const char32_t kHtmlInvalidCodepoints[];  // numbers decoded to '' (html._invalid_codepoints)
extern const size_t kHtmlInvalidCodepointCount;

}  // namespace kd::text
