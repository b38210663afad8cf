//! Views (feature `views`): they take results and draw them as HTML, SVG or
//! notebook output. Views compute nothing a user could not get from the
//! library.

pub mod chart;
pub mod flame;
pub mod html;
pub mod markdown;
pub mod notebook;
pub mod page;
pub mod plot;
