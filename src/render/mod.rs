//! Renderer: IR → query text, driven by backend data (`backends/*.yml`) and minijinja templates.
