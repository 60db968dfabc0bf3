//! Resident data parsed into newtypes that can only hold valid values and that only ever
//! show themselves masked.
//!
//! ID numbers and phone numbers are personal data. So:
//! - `Debug` and `Display` print the masked form, so a stray `{:?}` in a log or a span
//!   cannot leak the full value;
//! - neither type implements `Serialize`/`Deserialize`: each caller decides explicitly
//!   whether it stores [`ResidentId::as_str`] or shows [`ResidentId::masked`];
//! - [`ValidationError`] messages say what is wrong in words and never echo the input.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Why a resident's ID number or phone number was refused.
///
/// The messages are safe to show and to log: they never contain the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Not 18 characters of 17 digits followed by a digit or `X`.
    #[error("resident ID number must be 17 digits followed by a check digit or X")]
    IdNumberFormat,
    /// Characters 7–14 are not a real date between 1900 and 2100.
    #[error("resident ID number does not contain a valid birth date")]
    IdNumberBirthDate,
    /// Well formed, but the GB 11643 check character does not match: usually a typo.
    #[error("resident ID number check digit does not match; it was probably mistyped")]
    IdCheckDigit,
    /// Neither a mainland mobile number nor a landline number with an area code.
    #[error("phone number must be a mainland mobile number or a landline number with area code")]
    Phone,
}

impl ValidationError {
    /// A stable code for API responses and metrics; the variant names may change, these do not.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IdNumberFormat | Self::IdNumberBirthDate => "invalid_id_number",
            Self::IdCheckDigit => "invalid_id_check_digit",
            Self::Phone => "invalid_phone",
        }
    }
}

/// GB 11643-1999 weights for the first 17 digits (ISO 7064 MOD 11-2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each value of the weighted sum modulo 11.
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Birth years accepted. The domain crate reads no clock, so "not in the future" is the
/// caller's check; this range only refuses dates that cannot belong to a living resident.
const BIRTH_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// The check character GB 11643 assigns to 17 ID digits, or `None` if `id17` is not
/// exactly 17 ASCII digits.
fn id_check_char(id17: &str) -> Option<char> {
    if id17.len() != 17 || !id17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = id17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    ID_CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// A mainland Chinese resident ID number (居民身份证号码), 18 characters, check digit verified.
///
/// Stored normalised: surrounding whitespace trimmed and a lowercase `x` made `X`, so two
/// spellings of one number compare equal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    value: String,
    /// Kept from parsing so reading it back never has to handle an impossible failure.
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses and verifies length, characters, birth date and check digit, in that order,
    /// so a typo in the check digit is reported as such only when everything else is right.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        if trimmed.len() != 18 || !trimmed.is_ascii() {
            return Err(ValidationError::IdNumberFormat);
        }
        let (id17, check) = trimmed.split_at(17);
        if !id17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::IdNumberFormat);
        }
        let check = match check.as_bytes() {
            [b'x' | b'X'] => 'X',
            [digit @ b'0'..=b'9'] => char::from(*digit),
            _ => return Err(ValidationError::IdNumberFormat),
        };
        let birth_date = birth_date_of(id17).ok_or(ValidationError::IdNumberBirthDate)?;
        if id_check_char(id17) != Some(check) {
            return Err(ValidationError::IdCheckDigit);
        }
        Ok(Self {
            value: format!("{id17}{check}"),
            birth_date,
        })
    }

    /// A valid, synthetic ID number for demos, tests and load generation: region 110105,
    /// a birth date counted from 1970-01-01 by `n`, sequence `n % 1000`, and the right check
    /// character. Different for each `n` below 15,000,000.
    pub fn synthetic(n: u32) -> ResidentId {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let birth = epoch + chrono::Duration::days(i64::from(n / 1000 % 15_000));
        let body = format!("110105{}{:03}", birth.format("%Y%m%d"), n % 1000);
        let check = id_check_char(&body).unwrap_or('0');
        ResidentId::parse(&format!("{body}{check}")).unwrap_or_else(|_| ResidentId::fallback())
    }

    fn fallback() -> ResidentId {
        // 11010519491231002X is a published valid example; parse cannot fail on it.
        ResidentId {
            value: "11010519491231002X".to_string(),
            birth_date: NaiveDate::from_ymd_opt(1949, 12, 31).unwrap_or_default(),
        }
    }

    /// The full number. Only for the one store that must keep it; show [`Self::masked`].
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// First 3 and last 4 characters with 11 `*` between, e.g. `110***********123X`:
    /// enough for a clerk to match a card in hand, not enough to identify the resident.
    pub fn masked(&self) -> String {
        let (head, rest) = self.value.split_at(3);
        let tail = &rest[rest.len() - 4..];
        format!("{head}{}{tail}", "*".repeat(11))
    }

    /// The birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }
}

/// The real date in characters 7–14 (`YYYYMMDD`) of 17 ASCII digits, if there is one.
fn birth_date_of(id17: &str) -> Option<NaiveDate> {
    let year: i32 = id17.get(6..10)?.parse().ok()?;
    let month: u32 = id17.get(10..12)?.parse().ok()?;
    let day: u32 = id17.get(12..14)?.parse().ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    BIRTH_YEARS.contains(&date.year()).then_some(date)
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A mainland mobile number or a landline number with its area code.
///
/// Stored as digits only, with no `+86` and no separators (`13812345678`, `01012345678`,
/// `057187654321`), so one number has one spelling and lookups by phone match.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts:
    /// - mobile: `1[3-9]` and 9 more digits, optionally prefixed `+86` or `86`;
    /// - landline: `0`, the area code, and a 7–8 digit local number not starting with 0.
    ///   The area code is `010`/`02x` (3 characters with the 0) or otherwise 4 characters,
    ///   which is how mainland area codes are allocated, so the split needs no separator.
    ///
    /// Spaces and dashes anywhere are ignored, so `138-1234-5678` and `0571-8765 4321` work.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let international = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11));
        let national = international.unwrap_or(&compact);
        if !national.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::Phone);
        }
        let valid = if international.is_some() {
            is_mobile(national)
        } else {
            is_mobile(national) || landline_area_len(national).is_some()
        };
        if valid {
            Ok(Self(national.to_owned()))
        } else {
            Err(ValidationError::Phone)
        }
    }

    /// The full number, digits only. Only for sending a notification or for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a mobile number, i.e. one an SMS notification can reach.
    pub fn is_mobile(&self) -> bool {
        is_mobile(&self.0)
    }

    /// Mobile: first 3 + `****` + last 4 (`138****5678`), the form Chinese services print.
    /// Landline: area code + `****` + last 2 (`010****78`); local numbers are short, so
    /// fewer digits are shown.
    pub fn masked(&self) -> String {
        let (head, keep_tail) = match landline_area_len(&self.0) {
            Some(area_len) => (area_len, 2),
            None => (3, 4),
        };
        let head = self.0.get(..head).unwrap_or_default();
        let tail = self.0.get(self.0.len().saturating_sub(keep_tail)..);
        format!("{head}****{}", tail.unwrap_or_default())
    }
}

/// `1[3-9]` followed by 9 digits; `digits` is already known to be ASCII digits.
fn is_mobile(digits: &str) -> bool {
    let b = digits.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// The area code length (with its leading 0) if `digits` is a landline number.
fn landline_area_len(digits: &str) -> Option<usize> {
    let b = digits.as_bytes();
    let area_len = match b.get(..2)? {
        [b'0', b'1' | b'2'] => 3,
        [b'0', b'3'..=b'9'] => 4,
        _ => return None,
    };
    let local = b.get(area_len..)?;
    let local_ok = (7..=8).contains(&local.len()) && local.first() != Some(&b'0');
    local_ok.then_some(area_len)
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid ID from its parts by computing the check character.
    fn valid_id(area: &str, birth: &str, seq: &str) -> String {
        let id17 = format!("{area}{birth}{seq}");
        format!("{id17}{}", id_check_char(&id17).unwrap())
    }

    #[test]
    fn published_example_with_x_check_parses() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
    }

    #[test]
    fn standard_example_check_digit_is_right_but_1880_is_out_of_range() {
        // The GB 11643-1999 worked example; its check digit is 4. Born in 1880, it is
        // outside the accepted birth years, so parsing refuses it as a bad birth date.
        assert_eq!(id_check_char("44052418800101001"), Some('4'));
        assert_eq!(
            ResidentId::parse("440524188001010014"),
            Err(ValidationError::IdNumberBirthDate)
        );
    }

    #[test]
    fn computed_ids_parse() {
        for (area, birth, seq) in [
            ("230102", "19800229", "123"),
            ("310115", "20001231", "000"),
            ("510104", "19000101", "999"),
            ("650102", "21001231", "011"),
        ] {
            let raw = valid_id(area, birth, seq);
            assert_eq!(ResidentId::parse(&raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn wrong_check_digit_is_its_own_error() {
        let err = ResidentId::parse("110105194912310021").unwrap_err();
        assert_eq!(err, ValidationError::IdCheckDigit);
        assert_eq!(err.code(), "invalid_id_check_digit");
    }

    #[test]
    fn impossible_birth_dates_are_refused() {
        for birth in ["19900230", "19900013", "19900100", "18991231", "21010101"] {
            let raw = valid_id("110105", birth, "002");
            let err = ResidentId::parse(&raw).unwrap_err();
            assert_eq!(err, ValidationError::IdNumberBirthDate, "{birth}");
            assert_eq!(err.code(), "invalid_id_number");
        }
    }

    #[test]
    fn wrong_length_or_characters_are_refused() {
        for raw in [
            "",
            "11010519491231002",
            "11010519491231002X0",
            "110105194912310O2X",
            "11010519491231002Y",
            "1101051949123100２X",
            "X10105194912310021",
        ] {
            let err = ResidentId::parse(raw).unwrap_err();
            assert_eq!(err, ValidationError::IdNumberFormat, "{raw:?}");
            assert_eq!(err.code(), "invalid_id_number");
        }
    }

    #[test]
    fn lowercase_x_and_whitespace_are_normalised() {
        let id = ResidentId::parse("  11010519491231002x\n").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, ResidentId::parse("11010519491231002X").unwrap());
    }

    #[test]
    fn id_shows_only_masked() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110***********002X");
        assert_eq!(id.to_string(), "110***********002X");
        let debug = format!("{id:?} {id:#?}");
        assert!(!debug.contains("11010519491231002X"), "{debug}");
        assert!(!debug.contains("19491231"), "{debug}");
    }

    #[test]
    fn error_messages_never_echo_the_input() {
        let inputs = ["110105194912310021", "11010519490230002X", "abc", "12345"];
        for raw in inputs {
            let msg = ResidentId::parse(raw).unwrap_err().to_string();
            assert!(!msg.contains(raw), "{msg}");
            let msg = Phone::parse(raw).unwrap_err().to_string();
            assert!(!msg.contains(raw), "{msg}");
        }
    }

    #[test]
    fn mobile_numbers_in_common_spellings() {
        for raw in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "8613812345678",
        ] {
            let phone = Phone::parse(raw).unwrap();
            assert_eq!(phone.as_str(), "13812345678", "{raw}");
            assert!(phone.is_mobile());
            assert_eq!(phone.masked(), "138****5678");
        }
    }

    #[test]
    fn landline_numbers_with_area_code() {
        for (raw, stored, masked) in [
            ("010-12345678", "01012345678", "010****78"),
            ("021 6123 4567", "02161234567", "021****67"),
            ("0571-87654321", "057187654321", "0571****21"),
            ("0931-8123456", "09318123456", "0931****56"),
        ] {
            let phone = Phone::parse(raw).unwrap();
            assert_eq!(phone.as_str(), stored);
            assert!(!phone.is_mobile());
            assert_eq!(phone.masked(), masked);
        }
    }

    #[test]
    fn bad_phone_numbers_are_refused() {
        for raw in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "+86 010 12345678",
            "0101234567890",
            "010-0123456",
            "00112345678",
            "138abc45678",
            "+1 415 555 0100",
        ] {
            let err = Phone::parse(raw).unwrap_err();
            assert_eq!(err.code(), "invalid_phone", "{raw:?}");
        }
    }

    #[test]
    fn phone_debug_is_masked() {
        let phone = Phone::parse("13812345678").unwrap();
        assert_eq!(format!("{phone:?}"), "Phone(\"138****5678\")");
        assert_eq!(phone.to_string(), "138****5678");
    }

    fn id17_with_valid_date() -> impl Strategy<Value = String> {
        (
            "[1-9][0-9]{5}",
            1900i32..=2100,
            1u32..=12,
            1u32..=31,
            "[0-9]{3}",
        )
            .prop_filter_map("real date", |(area, y, m, d, seq)| {
                NaiveDate::from_ymd_opt(y, m, d)?;
                Some(format!("{area}{y:04}{m:02}{d:02}{seq}"))
            })
    }

    proptest! {
        #[test]
        fn any_valid_id_parses(id17 in id17_with_valid_date()) {
            let check = id_check_char(&id17).unwrap();
            let id = ResidentId::parse(&format!("{id17}{check}")).unwrap();
            prop_assert_eq!(id.as_str(), format!("{id17}{check}"));
            prop_assert_eq!(id.masked().len(), 18);
            let debug = format!("{:?}", id);
            prop_assert!(!debug.contains(&id17));
        }

        #[test]
        fn any_other_check_char_is_refused(
            id17 in id17_with_valid_date(),
            other in proptest::sample::select(ID_CHECK_CHARS.to_vec()),
        ) {
            let check = id_check_char(&id17).unwrap();
            prop_assume!(other != check);
            prop_assert_eq!(
                ResidentId::parse(&format!("{id17}{other}")),
                Err(ValidationError::IdCheckDigit)
            );
        }

        #[test]
        fn mobile_parse_and_mask_round_trip(
            digits in "1[3-9][0-9]{9}",
            prefix in proptest::sample::select(vec!["", "+86", "86", "+86 "]),
            sep in proptest::sample::select(vec!["", " ", "-"]),
        ) {
            let spelled = format!("{prefix}{}{sep}{}{sep}{}", &digits[..3], &digits[3..7], &digits[7..]);
            let phone = Phone::parse(&spelled).unwrap();
            prop_assert_eq!(phone.as_str(), digits.as_str());
            prop_assert_eq!(Phone::parse(phone.as_str()).unwrap(), phone.clone());
            prop_assert_eq!(phone.masked(), format!("{}****{}", &digits[..3], &digits[7..]));
        }

        #[test]
        fn landline_parse_and_mask_round_trip(
            area in "0(10|2[0-9]|[3-9][0-9]{2})",
            local in "[2-8][0-9]{6,7}",
        ) {
            let phone = Phone::parse(&format!("{area}-{local}")).unwrap();
            let stored = format!("{area}{local}");
            prop_assert_eq!(phone.as_str(), stored.as_str());
            prop_assert_eq!(Phone::parse(phone.as_str()).unwrap(), phone.clone());
            prop_assert_eq!(phone.masked(), format!("{area}****{}", &local[local.len() - 2..]));
        }
    }
}

#[cfg(test)]
mod synthetic_tests {
    use super::ResidentId;

    #[test]
    fn synthetic_ids_are_valid_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..5000)
            .map(|n| ResidentId::synthetic(n * 7).as_str().to_string())
            .collect();
        assert_eq!(ids.len(), 5000);
        for id in ids.iter().take(50) {
            assert!(ResidentId::parse(id).is_ok());
        }
    }
}
