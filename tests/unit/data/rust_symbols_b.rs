// Source of some of the names in rust_symbols.txt (see there); not built by make.
#![allow(dead_code)]
use std::fmt::Debug;
#[inline(never)] pub fn probe<T: ?Sized>() -> usize { std::mem::size_of::<&T>() }
#[inline(never)] pub fn cprobe<const A: u128, const B: i128, const C: char, const D: i8>() -> u128 { A + (B as u128) + C as u128 + D as u128 }
pub trait Tr<'a> { type Out; fn go(&self, x: &'a u8) -> Self::Out; }
pub struct S;
impl<'a> Tr<'a> for S { type Out = &'a u8; #[inline(never)] fn go(&self, x: &'a u8) -> &'a u8 { x } }
mod ünïcödé { #[inline(never)] pub fn 函数() -> u8 { 1 } pub struct Ωmega; impl Ωmega { #[inline(never)] pub fn new() -> Self { Ωmega } } }
#[track_caller] #[inline(never)] fn tracked() -> u32 { std::panic::Location::caller().line() }
fn main() {
    let mut n = 0;
    n += probe::<dyn Iterator<Item = u8>>();
    n += probe::<dyn Fn(&u8) -> usize + Send + Sync>();
    n += probe::<dyn for<'a> Tr<'a, Out = &'a u8>>();
    n += probe::<fn(&u8, &u16) -> bool>();
    n += probe::<for<'a> fn(&'a str) -> &'a str>();
    n += probe::<unsafe extern "C" fn(i32, ...) -> i32>();
    n += probe::<extern "system" fn()>();
    n += probe::<(u8,)>();
    n += probe::<(u8, (), [u16; 4], &[i64], &mut str, *const f32, *mut f64)>();
    n += probe::<dyn Debug + 'static>();
    n += probe::<[char]>();
    n += cprobe::<340282366920938463463374607431768211455, -170141183460469231731687303715884105728, '\'', -128>() as usize;
    n += cprobe::<0, 0, '\n', 127>() as usize;
    n += cprobe::<1, -1, '\\', 0>() as usize;
    n += ünïcödé::函数() as usize;
    let _ = ünïcödé::Ωmega::new();
    let f: fn() -> u32 = tracked;
    n += f() as usize;
    let b = 5u8; n += *S.go(&b) as usize;
    let c = || n + 1; let d = move || c() + 1; println!("{}", d());
}
