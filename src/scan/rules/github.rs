//! GitHub's token checksum, which tells a real token from a made-up one with certainty.
//!
//! Since 2021 a `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` token is the prefix, 30 random base62
//! characters, and the CRC-32 (the zlib/PNG one) of those 30 characters written in base62
//! (`0-9A-Za-z`) as 6 characters, zero-padded. A token whose checksum holds was issued by
//! GitHub (or made to look so on purpose), whatever words its random part happens to spell;
//! one whose checksum fails was typed by hand: a placeholder, or a real token with a typo.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub const RANDOM_LEN: usize = 30;
pub const CHECKSUM_LEN: usize = 6;

/// What the checksum says about `token` (prefix included).
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    /// Not the checksummed form (a fine-grained `github_pat_`, an unusual length).
    NotChecksummed,
}

pub fn verify(token: &[u8]) -> Verdict {
    let Some(rest) = token.get(4..) else {
        return Verdict::NotChecksummed;
    };
    if !token.starts_with(b"gh") || token.get(3) != Some(&b'_') {
        return Verdict::NotChecksummed;
    }
    if rest.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Verdict::NotChecksummed;
    }
    let (random, checksum) = rest.split_at(RANDOM_LEN);
    if checksum == base62(crc32(random)) {
        Verdict::Valid
    } else {
        Verdict::Invalid
    }
}

/// The six characters that end a token whose random part is `random`.
pub fn base62(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// CRC-32/ISO-HDLC (reflected, polynomial 0xEDB88320), bit by bit: tokens are 30 bytes.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(&base62(0), b"000000");
        assert_eq!(&base62(61), b"00000z");
    }

    #[test]
    fn a_token_is_valid_only_with_its_own_checksum() {
        let random = b"Zq8vN3mXr7TbQ2Lp7Vt4Rw8Ks1Nb6H";
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(random);
        token.extend_from_slice(&base62(crc32(random)));
        assert_eq!(verify(&token), Verdict::Valid);
        let last = token.len() - 1;
        token[last] = if token[last] == b'a' { b'b' } else { b'a' };
        assert_eq!(verify(&token), Verdict::Invalid);
        assert_eq!(verify(b"github_pat_11AAAAAAA"), Verdict::NotChecksummed);
    }
}
