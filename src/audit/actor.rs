//! Who is acting: the OS user at this host, and the database role in use.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user@host`.
    pub os: String,
    pub db_role: Option<String>,
}

impl Actor {
    pub fn current(db_role: Option<String>) -> Actor {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(uid_name);
        Actor {
            os: format!("{user}@{}", hostname()),
            db_role,
        }
    }
}

fn uid_name() -> String {
    // SAFETY: getuid cannot fail; getpwuid returns a pointer into static storage or null.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return format!("uid{}", libc::getuid());
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
