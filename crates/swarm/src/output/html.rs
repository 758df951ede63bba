//! Html (todo)
