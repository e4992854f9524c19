// The console's web application (services/console/web), compiled into the program by CMake.
#ifndef LODESTONE_SERVICES_CONSOLE_WEB_FILES_H_
#define LODESTONE_SERVICES_CONSOLE_WEB_FILES_H_

#include <string_view>
#include <vector>

namespace lodestone::console {

struct WebFile {
  std::string_view path;  // relative to web/, e.g. "index.html", "vendor/dagre.min.js"
  std::string_view content;
};

// Every file under services/console/web at build time, sorted by path.
const std::vector<WebFile>& EmbeddedWebFiles();

}  // namespace lodestone::console

#endif  // LODESTONE_SERVICES_CONSOLE_WEB_FILES_H_
