//! Jupyter kernelspecs whose kernels start through `envguard exec`, so that a notebook gets
//! its project's variables however Jupyter itself was started (JupyterHub, VS Code, a desktop
//! launcher) and the notebook never has to call `load_dotenv()`.
//!
//! Split by the question each part answers: where Jupyter looks for kernels ([`dirs`]), which
//! of them it starts for a name ([`resolve`]), what the chosen Python is ([`python`]), what an
//! envguard kernel.json says ([`kernelspec`]), how its kernel starts ([`launch`]), and where
//! envguard may write one ([`ownership`]).

pub mod dirs;
pub mod kernelspec;
pub mod launch;
pub mod ownership;
pub mod python;
pub mod resolve;
