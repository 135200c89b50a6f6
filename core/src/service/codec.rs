//! The encoding of section 6.1: a 2-byte big-endian length, then one CBOR map whose key 0 is
//! the message type and whose keys 1, 2, ... are the fields in order. A small serde data
//! format over minicbor's encoder and decoder (no std, no alloc): a struct variant is written
//! as `{0: variant index, 1: field 0, 2: field 1, ...}`, and read back through the field
//! indices serde's derive already accepts. (minicbor-serde writes field *names* as keys and
//! reads identifiers only as text, so it cannot give integer keys.)
//!
//! Only what [`Message`] uses is supported: unsigned integers, text, bytes, arrays of text,
//! optional fields, struct variants. Decoding borrows text and bytes from the input.

use minicbor::data::Type;
use minicbor::encode::write::{Cursor, EndOfSlice};
use minicbor::{Decoder, Encoder};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Impossible, Serialize};
use serde::Deserialize;

use super::wire::Message;

/// Longest message body (the CBOR map) a length prefix may announce.
pub const MAX_MESSAGE: usize = 4096;
/// Bytes of the length prefix.
pub const PREFIX: usize = 2;
/// Deepest nesting a decoder follows (the message map, an `argv` array, and skipped values).
const MAX_DEPTH: u8 = 4;

/// Why a message could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The output buffer is too small for the message.
    #[error("output buffer too small for the message")]
    BufferFull,
    /// The message is longer than [`MAX_MESSAGE`] bytes.
    #[error("message of {len} bytes, more than {MAX_MESSAGE}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A value the format does not carry (only a bug in a type of this module).
    #[error("value not supported by the service encoding")]
    Unsupported,
}

impl ser::Error for EncodeError {
    fn custom<T: core::fmt::Display>(_msg: T) -> Self {
        Self::Unsupported
    }
}

impl From<minicbor::encode::Error<EndOfSlice>> for EncodeError {
    fn from(_: minicbor::encode::Error<EndOfSlice>) -> Self {
        Self::BufferFull
    }
}

/// Why a message body did not decode (section 6.1's rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not well-formed CBOR, cut short, or an item of the wrong major type.
    #[error("malformed CBOR")]
    Malformed,
    /// An indefinite-length item.
    #[error("indefinite length")]
    Indefinite,
    /// A tag, float, negative integer or simple value.
    #[error("CBOR item not used by the service")]
    Unsupported,
    /// Nested deeper than a message can be.
    #[error("nested too deep")]
    TooDeep,
    /// The map does not start with key 0 (the type), or a later key is 0.
    #[error("the message type is not key 0")]
    TypeNotFirst,
    /// A message type that does not exist.
    #[error("unknown message type {ty}")]
    UnknownType {
        /// The type.
        ty: u64,
    },
    /// A field is missing.
    #[error("a field is missing")]
    MissingField,
    /// A key appears twice.
    #[error("a key appears twice")]
    DuplicateField,
    /// A field of the wrong type or out of range.
    #[error("a field has the wrong type or is out of range")]
    InvalidValue,
    /// Bytes after the map.
    #[error("{extra} bytes after the message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

impl de::Error for DecodeError {
    fn custom<T: core::fmt::Display>(_msg: T) -> Self {
        Self::InvalidValue
    }
    fn missing_field(_field: &'static str) -> Self {
        Self::MissingField
    }
    fn duplicate_field(_field: &'static str) -> Self {
        Self::DuplicateField
    }
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(_: minicbor::decode::Error) -> Self {
        Self::Malformed
    }
}

/// Write `message` as prefix + body into `out`; the bytes written.
pub fn encode(message: &Message<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    let (prefix, body) = out.split_at_mut_checked(PREFIX).ok_or(EncodeError::BufferFull)?;
    let len = encode_body(message, body)?;
    if len > MAX_MESSAGE {
        return Err(EncodeError::TooLong { len });
    }
    prefix.copy_from_slice(&(len as u16).to_be_bytes());
    Ok(PREFIX + len)
}

/// Write `message`'s body (the CBOR map, no prefix) into `out`; the bytes written.
pub fn encode_body(message: &Message<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut ser = Ser { enc: Encoder::new(Cursor::new(out)) };
    message.serialize(&mut ser)?;
    Ok(ser.enc.writer().position())
}

/// Read one message body (no prefix): exactly one map, nothing after it.
pub fn decode(body: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut de = De { dec: Decoder::new(body), depth: 0 };
    let message = Message::deserialize(&mut de)?;
    let extra = body.len().saturating_sub(de.dec.position());
    if extra > 0 {
        return Err(DecodeError::TrailingBytes { extra });
    }
    Ok(message)
}

/// The length a message's prefix announces, checked against [`MAX_MESSAGE`].
pub fn body_len(prefix: [u8; PREFIX]) -> Result<usize, usize> {
    let len = usize::from(u16::from_be_bytes(prefix));
    if len == 0 || len > MAX_MESSAGE {
        return Err(len);
    }
    Ok(len)
}

struct Ser<'b> {
    enc: Encoder<Cursor<&'b mut [u8]>>,
}

/// The fields of a struct variant: key `n` for the `n`-th field (1-based; skipped fields
/// keep their numbers).
struct Fields<'a, 'b> {
    ser: &'a mut Ser<'b>,
    key: u64,
}

impl<'a, 'b> ser::Serializer for &'a mut Ser<'b> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<(), EncodeError>;
    type SerializeTupleStruct = Impossible<(), EncodeError>;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Impossible<(), EncodeError>;
    type SerializeStruct = Impossible<(), EncodeError>;
    type SerializeStructVariant = Fields<'a, 'b>;

    fn serialize_u8(self, v: u8) -> Result<(), EncodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), EncodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), EncodeError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), EncodeError> {
        self.enc.u64(v)?;
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.enc.str(v)?;
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        self.enc.bytes(v)?;
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeError> {
        let len = len.ok_or(EncodeError::Unsupported)?;
        self.enc.array(len as u64)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Fields<'a, 'b>, EncodeError> {
        self.enc.map(len as u64 + 1)?.u8(0)?.u32(index)?;
        Ok(Fields { ser: self, key: 1 })
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), EncodeError> {
        v.serialize(self)
    }

    fn serialize_bool(self, _: bool) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_i8(self, _: i8) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_i16(self, _: i16) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_i32(self, _: i32) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_i64(self, _: i64) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_char(self, _: char) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn collect_str<T: core::fmt::Display + ?Sized>(self, _: &T) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

impl ser::SerializeSeq for &mut Ser<'_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), EncodeError> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), EncodeError> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Fields<'_, '_> {
    type Ok = ();
    type Error = EncodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), EncodeError> {
        self.ser.enc.u64(self.key)?;
        self.key += 1;
        v.serialize(&mut *self.ser)
    }
    fn skip_field(&mut self, _name: &'static str) -> Result<(), EncodeError> {
        self.key += 1;
        Ok(())
    }
    fn end(self) -> Result<(), EncodeError> {
        Ok(())
    }
}

struct De<'de> {
    dec: Decoder<'de>,
    depth: u8,
}

impl De<'_> {
    /// A definite length of an array or map header just read.
    fn enter(&mut self, len: Option<u64>) -> Result<u64, DecodeError> {
        let len = len.ok_or(DecodeError::Indefinite)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        Ok(len)
    }
}

impl<'de> de::Deserializer<'de> for &mut De<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.dec.datatype()? {
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => visitor.visit_u64(self.dec.u64()?),
            Type::String => visitor.visit_borrowed_str(self.dec.str()?),
            Type::Bytes => visitor.visit_borrowed_bytes(self.dec.bytes()?),
            Type::Array => {
                let len = self.dec.array()?;
                let left = self.enter(len)?;
                let value = visitor.visit_seq(Items { de: &mut *self, left })?;
                self.depth -= 1;
                Ok(value)
            }
            Type::Map => {
                let len = self.dec.map()?;
                let left = self.enter(len)?;
                let value = visitor.visit_map(Entries { de: &mut *self, left, shift: 0 })?;
                self.depth -= 1;
                Ok(value)
            }
            Type::Null => {
                self.dec.null()?;
                visitor.visit_none()
            }
            Type::ArrayIndef | Type::MapIndef | Type::BytesIndef | Type::StringIndef => {
                Err(DecodeError::Indefinite)
            }
            _ => Err(DecodeError::Unsupported),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.dec.datatype()? == Type::Null {
            self.dec.null()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    // Text and bytes are told apart: a text field given a byte string is the wrong type
    // (serde's `&str` visitor would take UTF-8 bytes).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.dec.datatype()? {
            Type::String => visitor.visit_borrowed_str(self.dec.str()?),
            Type::StringIndef => Err(DecodeError::Indefinite),
            _ => Err(DecodeError::Malformed),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.dec.datatype()? {
            Type::Bytes => visitor.visit_borrowed_bytes(self.dec.bytes()?),
            Type::BytesIndef => Err(DecodeError::Indefinite),
            _ => Err(DecodeError::Malformed),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if self.dec.datatype()? == Type::MapIndef {
            return Err(DecodeError::Indefinite);
        }
        let len = self.dec.map()?;
        let entries = self.enter(len)?;
        let left = entries.checked_sub(1).ok_or(DecodeError::TypeNotFirst)?;
        if key(&mut self.dec)? != 0 {
            return Err(DecodeError::TypeNotFirst);
        }
        let ty = key(&mut self.dec)?;
        let index = u32::try_from(ty)
            .ok()
            .filter(|i| (*i as usize) < variants.len())
            .ok_or(DecodeError::UnknownType { ty })?;
        let value = visitor.visit_enum(Variant { de: &mut *self, index, left })?;
        self.depth -= 1;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// An unsigned integer, as keys and the type are.
fn key(dec: &mut Decoder<'_>) -> Result<u64, DecodeError> {
    match dec.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(dec.u64()?),
        _ => Err(DecodeError::Malformed),
    }
}

struct Items<'a, 'de> {
    de: &'a mut De<'de>,
    left: u64,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.left).ok()
    }
}

/// Map entries; `shift` is subtracted from each key (1 for a message's fields, whose key 0
/// was the type), and a key below it is refused.
struct Entries<'a, 'de> {
    de: &'a mut De<'de>,
    left: u64,
    shift: u64,
}

impl<'de> de::MapAccess<'de> for Entries<'_, 'de> {
    type Error = DecodeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = key(&mut self.de.dec)?;
        let index = key.checked_sub(self.shift).ok_or(DecodeError::TypeNotFirst)?;
        seed.deserialize(IntoDeserializer::<DecodeError>::into_deserializer(index)).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        seed.deserialize(&mut *self.de)
    }
    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.left).ok()
    }
}

struct Variant<'a, 'de> {
    de: &'a mut De<'de>,
    index: u32,
    left: u64,
}

impl<'a, 'de> de::EnumAccess<'de> for Variant<'a, 'de> {
    type Error = DecodeError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), DecodeError> {
        let value =
            seed.deserialize(IntoDeserializer::<DecodeError>::into_deserializer(self.index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = DecodeError;
    fn unit_variant(self) -> Result<(), DecodeError> {
        Err(DecodeError::InvalidValue)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, DecodeError> {
        Err(DecodeError::InvalidValue)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError::InvalidValue)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_map(Entries { de: self.de, left: self.left, shift: 1 })
    }
}
