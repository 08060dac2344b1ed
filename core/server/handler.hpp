// brisk — a request handler, the unit the router dispatches to. Built-in
// fixed responses implement it now; plugins and static roots do later.
#pragma once

#include "http/request.hpp"
#include "http/response.hpp"

namespace brisk {

class Handler {
public:
    virtual ~Handler() = default;
    /** Runs on a loop thread, concurrently with other loops: it must not block. */
    virtual void handle(const http::Request& req, http::Response& resp) = 0;
};

}  // namespace brisk
