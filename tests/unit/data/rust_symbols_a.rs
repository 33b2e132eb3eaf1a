// Source of some of the names in rust_symbols.txt (see there); not built by make.
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::mpsc;
use std::thread;

pub struct Wrapper<T, const N: usize>(pub [T; N]);

impl<T: Debug + Clone, const N: usize> Wrapper<T, N> {
    #[inline(never)]
    pub fn show(&self) -> String { format!("{:?}", self.0) }
}

pub trait Speak { fn speak(&self) -> String; fn shout(&self) -> String { self.speak().to_uppercase() } }
pub struct Dog;
impl Speak for Dog { #[inline(never)] fn speak(&self) -> String { "woof".into() } }

mod gödel { pub mod escher { #[inline(never)] pub fn bach() -> u32 { 7 } } }

#[inline(never)]
fn generic_fn<T: Debug>(x: T, f: &dyn Fn(&T) -> usize) -> usize { f(&x) }

#[inline(never)]
fn takes_fn(f: fn(&u8, &u16) -> bool) -> bool { f(&1, &2) }
fn cmp(a: &u8, b: &u16) -> bool { (*a as u16) < *b }

#[inline(never)]
fn with_const<const V: i64, const B: bool, const C: char>() -> i64 { if B { V } else { C as i64 } }

#[inline(never)]
fn tuple_fn(t: (u8, &str, *const i32, *mut f64, &mut [u16])) -> usize { t.0 as usize + t.1.len() + t.4.len() + (t.2 as usize & 1) + (t.3 as usize & 1) }

pub fn spawn_leaky() -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || { let _ = rx.recv(); });
    tx
}

fn main() {
    let w = Wrapper([1u8, 2, 3]);
    println!("{}", w.show());
    let w2 = Wrapper([String::from("a")]);
    println!("{}", w2.show());
    println!("{}", Dog.shout());
    println!("{}", gödel::escher::bach());
    let mut m: HashMap<String, Vec<(i32, char)>> = HashMap::new();
    m.insert("k".into(), vec![(1, 'x')]);
    println!("{}", generic_fn(m, &|h| h.len()));
    println!("{}", takes_fn(cmp));
    println!("{}", with_const::<{ -5 }, true, 'é'>() + with_const::<3, false, 'a'>());
    let mut v = [1u16, 2];
    println!("{}", tuple_fn((1, "ab", std::ptr::null(), std::ptr::null_mut(), &mut v)));
    let closure = |x: i32| x + 1;
    println!("{}", closure(1));
    let tx = spawn_leaky();
    std::mem::forget(tx);
}
