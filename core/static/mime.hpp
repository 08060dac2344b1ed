// brisk — Content-Type by file extension, with charset for text types and
// whether a type is worth compressing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brisk::files {

struct MimeType {
    /** The full field value ("text/html; charset=utf-8"). */
    std::string_view type;
    /** Worth compressing on the fly (text, JSON, SVG, fonts without their own compression...). */
    bool compressible = false;
};

/** The built-in table: extension (lower case, no dot) -> type; sorted by extension. */
struct MimeEntry {
    std::string_view ext;
    std::string_view type;
    bool compressible;
};
const MimeEntry* mime_table(std::size_t& count) noexcept;

/** The type of an unknown extension. */
inline constexpr std::string_view kDefaultMime = "application/octet-stream";

/** True for types that carry text and get "; charset=utf-8" (text types, JSON, JavaScript, XML...). */
bool is_text_type(std::string_view type) noexcept;

/** True for types worth compressing when the table does not say (extra types). */
bool is_compressible_type(std::string_view type) noexcept;

/** The built-in table plus a route's extra entries, which win. */
class MimeTable {
public:
    /** `extra`: ("ext" or ".ext", "type") pairs; text types without a charset get one. */
    explicit MimeTable(const std::vector<std::pair<std::string, std::string>>& extra = {});

    /** The type for the file name `name` (its last extension, case-insensitive). */
    MimeType lookup(std::string_view name) const noexcept;

private:
    struct Extra {
        std::string ext;  // lower case, no dot
        std::string type;
        bool compressible;
    };
    std::vector<Extra> extra_;
};

}  // namespace brisk::files
