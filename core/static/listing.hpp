// brisk — the HTML listing of a directory without an index file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brisk::files {

struct ListingItem {
    std::string name;
    bool dir = false;
    bool known = true;  // stat worked (a dangling symlink: false)
    std::uint64_t size = 0;
    std::int64_t mtime = 0;  // seconds
};

/**
 * Reads the directory open at `dirfd` (not consumed). Names starting with '.'
 * are left out unless `dotfiles`; "." and ".." always. At most `max` items;
 * `more` is set to how many were left out past that. False if it cannot be read.
 */
bool read_directory(int dirfd, bool dotfiles, std::size_t max, std::vector<ListingItem>& out, std::size_t& more);

/**
 * Renders `items` (sorted here: directories first, then by name, case
 * folded) as a complete HTML page for the URL path `url_path` (decoded, as
 * shown in the title). Names are HTML-escaped and their links
 * percent-encoded and relative ("./name"), so no name can become markup or
 * a scheme. `parent`: add a link to "../".
 */
void render_listing(std::vector<ListingItem>& items, std::size_t more, std::string_view url_path, bool parent,
                    std::string& out);

/** Appends `text` with &, <, >, " and ' escaped. */
void html_escape(std::string_view text, std::string& out);

}  // namespace brisk::files
