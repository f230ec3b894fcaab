// The console stderr writes to, for the progress bar.
#pragma once

namespace vssimg::cli {

// Columns of the console stderr is attached to; 0 when it is not a console or the width
// is unknown. Asked at every redraw, so that a resized window is followed.
int stderr_columns();

}  // namespace vssimg::cli
