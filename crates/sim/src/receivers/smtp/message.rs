//! The headers of a received message (RFC 5322 2.2): the header section up to the first empty
//! line, folded lines unfolded, names case-insensitive. Only what the receivers record is
//! kept.

use std::collections::HashMap;

/// The header fields of `data` by lowercase name (the first occurrence of a repeated one).
pub fn headers(data: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(data);
    let mut out: HashMap<String, String> = HashMap::new();
    let mut current: Option<(String, String)> = None;
    let flush = |c: Option<(String, String)>, out: &mut HashMap<String, String>| {
        if let Some((name, value)) = c {
            out.entry(name).or_insert_with(|| value.trim().to_owned());
        }
    };
    for line in text.split("\r\n") {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        flush(current.take(), &mut out);
        if let Some((name, value)) = line.split_once(':') {
            current = Some((name.trim().to_ascii_lowercase(), value.to_owned()));
        }
    }
    flush(current, &mut out);
    out
}

/// The message id inside `<...>`, without its `@domain`: Waypost sends `<msg_id@waypost>`.
pub fn message_id(value: &str) -> Option<&str> {
    let v = value.trim();
    let v = v
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(v);
    let local = v.split_once('@').map_or(v, |(l, _)| l).trim();
    (!local.is_empty()).then_some(local)
}

/// The address of a `To:` value: the first mailbox, inside `<...>` if given so.
pub fn address(value: &str) -> Option<&str> {
    let first = value.split(',').next()?.trim();
    let addr = match (first.rfind('<'), first.rfind('>')) {
        (Some(a), Some(b)) if a < b => &first[a + 1..b],
        _ => first,
    };
    let addr = addr.trim();
    (!addr.is_empty()).then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfolded_and_case_insensitive() {
        let data = b"Message-ID: <msg_abc@waypost>\r\nTo: \"Ann Lee\"\r\n <ann@example.com>\r\n\
X-Waypost-Order: SO-1\r\nx-waypost-transition:\t42\r\nSubject: a\r\n\r\nX-Waypost-Order: body\r\n";
        let h = headers(data);
        assert_eq!(h["message-id"], "<msg_abc@waypost>");
        assert_eq!(h["x-waypost-order"], "SO-1");
        assert_eq!(h["x-waypost-transition"], "42");
        assert_eq!(address(&h["to"]), Some("ann@example.com"));
        assert_eq!(message_id(&h["message-id"]), Some("msg_abc"));
        assert_eq!(message_id("plain"), Some("plain"));
        assert_eq!(message_id("<>"), None);
        assert_eq!(address("b@y, c@z"), Some("b@y"));
    }
}
