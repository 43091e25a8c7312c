//! Jupyter kernelspecs whose kernels start through `envguard exec`, so that a notebook gets
//! its project's variables however Jupyter itself was started (JupyterHub, VS Code, a desktop
//! launcher) and the notebook never has to call `load_dotenv()`.
//!
//! Split by the question each part answers: where Jupyter looks for kernels ([`dirs`]), what
//! the chosen Python is ([`python`]), and what an envguard kernel.json says ([`kernelspec`]).

pub mod dirs;
pub mod kernelspec;
pub mod python;
