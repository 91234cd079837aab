//! The generated impls. Every path into `convergent` and every name of its traits and methods is
//! written in [`Api`] and nowhere else.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Path;

use crate::model::Struct;

/// The paths of `convergent` the generated code names, all under the crate root.
struct Api {
    lattice: TokenStream,
    decompose: TokenStream,
    /// Retirement: `fold(&mut self, retired, heir) -> Self` and `purge(&mut self, retired)`.
    prune: TokenStream,
    replica_id: TokenStream,
    /// Receipt: `validate_against(&self, local: &Self, policy: &ReceivePolicy)`.
    receive: TokenStream,
    receive_policy: TokenStream,
    /// `check_invariants(&self) -> Result<(), &'static str>`.
    check_invariants: TokenStream,
    /// `decode_prefix(bytes, cx) -> Result<(Self, rest), Error>`.
    decode: TokenStream,
    decode_cx: TokenStream,
    /// `Error`, with `in_field(self, name) -> Error`.
    error: TokenStream,
    /// Re-exports for the generated code: `Vec`, `serde`.
    private: TokenStream,
    /// Every capability at once (`__private::Field`), with an error message for a field that is
    /// not a lattice.
    field: TokenStream,
    /// `with_serde! { .. }` expands to its input when `convergent` has its `serde` feature.
    with_serde: TokenStream,
}

impl Api {
    fn new(root: &Path) -> Self {
        Api {
            lattice: quote!(#root::Lattice),
            decompose: quote!(#root::Decompose),
            prune: quote!(#root::Prune),
            replica_id: quote!(#root::ReplicaId),
            receive: quote!(#root::Receive),
            receive_policy: quote!(#root::ReceivePolicy),
            check_invariants: quote!(#root::causal::CheckInvariants),
            decode: quote!(#root::wire::Decode),
            decode_cx: quote!(#root::wire::DecodeCx),
            error: quote!(#root::Error),
            private: quote!(#root::__private),
            field: quote!(#root::__private::Field),
            with_serde: quote!(#root::__with_serde),
        }
    }
}

/// Every impl for the struct.
pub(crate) fn expand(s: &Struct) -> TokenStream {
    let api = Api::new(&s.root);
    let parts = [
        s.assert_fields(&api.field),
        lattice(s, &api),
        decompose(s, &api),
        prune(s, &api),
        receive(s, &api),
        check_invariants(s, &api),
        serde_and_decode(s, &api),
        mutators(s, &api),
    ];
    quote!(#(#parts)*)
}

/// `impl<..> Trait for S<..> where <struct bounds>, <FieldType: bound for every field>`.
/// `Self` with `value` in field `one` and every other field bottom.
fn only(s: &Struct, one: &crate::model::Field, value: TokenStream, l: &TokenStream) -> TokenStream {
    s.construct(|f| {
        if f.member == one.member {
            value.clone()
        } else {
            let ty = &f.ty;
            quote!(<#ty as #l>::bottom())
        }
    })
}

/// The bound on each field is `bound`, plus what the struct's `Lattice` impl needs (every trait
/// but serde's extends `Lattice`).
fn header(s: &Struct, api: &Api, trait_: &TokenStream, bound: &TokenStream) -> TokenStream {
    let (g, tg, _) = s.generics.split_for_impl();
    let ident = &s.ident;
    let l = &api.lattice;
    let w = s.where_each_field(&quote!(#bound + #l + ::core::clone::Clone));
    quote!(#[automatically_derived] impl #g #trait_ for #ident #tg #w)
}

fn lattice(s: &Struct, api: &Api) -> TokenStream {
    let l = &api.lattice;
    let head = header(s, api, l, l);
    let bottom = s.construct(|f| {
        let ty = &f.ty;
        quote!(<#ty as #l>::bottom())
    });
    let is_bottom = s.each(|f| {
        let m = &f.member;
        quote!(#l::is_bottom(&self.#m))
    });
    // `|=` evaluates its right side every time: every field is joined whatever the earlier ones did.
    let join_ref = s.each(|f| {
        let m = &f.member;
        quote!(changed |= #l::join_ref(&mut self.#m, &other.#m);)
    });
    let join = s.each(|f| {
        let (m, v) = (&f.member, &f.var);
        quote!(changed |= #l::join(&mut self.#m, #v);)
    });
    let leq = s.each(|f| {
        let m = &f.member;
        quote!(#l::leq(&self.#m, &other.#m))
    });
    let pattern = s.destructure();
    quote! {
        #head {
            #[inline]
            fn bottom() -> Self {
                #bottom
            }
            fn is_bottom(&self) -> bool {
                #(#is_bottom)&&*
            }
            fn join_ref(&mut self, other: &Self) -> bool {
                let mut changed = false;
                #(#join_ref)*
                changed
            }
            fn join(&mut self, other: Self) -> bool {
                let #pattern = other;
                let mut changed = false;
                #(#join)*
                changed
            }
            // No `Self: Clone` bound here (the trait's is only for its provided method): the
            // fields' own `leq`, whose `Clone` the impl's bounds give.
            fn leq(&self, other: &Self) -> bool {
                #(#leq)&&*
            }
        }
    }
}

fn decompose(s: &Struct, api: &Api) -> TokenStream {
    let (d, l, p) = (&api.decompose, &api.lattice, &api.private);
    let head = header(s, api, d, d);
    let parts = s.each(|f| {
        let m = &f.member;
        let one = only(s, f, quote!(part), l);
        quote! {
            for part in #d::decompose(&self.#m) {
                out.push(#one);
            }
        }
    });
    let count = s.each(|f| {
        let m = &f.member;
        quote!(n = n.saturating_add(#d::irreducible_count(&self.#m));)
    });
    let delta = s.construct(|f| {
        let m = &f.member;
        quote!(#d::delta(&self.#m, &other.#m))
    });
    quote! {
        #head {
            fn decompose(&self) -> #p::Vec<Self> {
                let mut out = #p::Vec::new();
                #(#parts)*
                out
            }
            fn irreducible_count(&self) -> usize {
                let mut n = 0usize;
                #(#count)*
                n
            }
            fn delta(&self, other: &Self) -> Self {
                #delta
            }
        }
    }
}

/// `fold` is the struct of the fields' folds (each field's fold is a delta of that field, so the
/// struct of them is a delta of the struct); `purge` purges every field.
fn prune(s: &Struct, api: &Api) -> TokenStream {
    let (p, id) = (&api.prune, &api.replica_id);
    let head = header(s, api, p, p);
    let fold = s.construct(|f| {
        let m = &f.member;
        quote!(#p::fold(&mut self.#m, retired, heir))
    });
    let purge = s.each(|f| {
        let m = &f.member;
        quote!(#p::purge(&mut self.#m, retired);)
    });
    quote! {
        #head {
            fn fold(&mut self, retired: #id, heir: #id) -> Self {
                #fold
            }
            fn purge(&mut self, retired: #id) {
                #(#purge)*
            }
        }
    }
}

/// Every field against the receiver's, in order. The error is the field's own, unwrapped: an
/// operator matches `Error::OwnDotFromFuture` the same way whatever the state's type.
fn receive(s: &Struct, api: &Api) -> TokenStream {
    let (r, policy, e) = (&api.receive, &api.receive_policy, &api.error);
    let head = header(s, api, r, r);
    let checks = s.each(|f| {
        let m = &f.member;
        quote!(#r::validate_against(&self.#m, &local.#m, policy)?;)
    });
    quote! {
        #head {
            fn validate_against(&self, local: &Self, policy: &#policy) -> ::core::result::Result<(), #e> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

fn check_invariants(s: &Struct, api: &Api) -> TokenStream {
    let c = &api.check_invariants;
    let head = header(s, api, c, c);
    let checks = s.each(|f| {
        let m = &f.member;
        quote!(#c::check_invariants(&self.#m)?;)
    });
    quote! {
        #head {
            fn check_invariants(&self) -> ::core::result::Result<(), &'static str> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// `Serialize`, `Deserialize` and `Decode`, inside `with_serde!`: present exactly when
/// `convergent` has its `serde` feature.
fn serde_and_decode(s: &Struct, api: &Api) -> TokenStream {
    let (ser, de, dec, w) = (serialize(s, api), deserialize(s, api), decode(s, api), &api.with_serde);
    quote!(#w! { #ser #de #dec })
}

fn serialize(s: &Struct, api: &Api) -> TokenStream {
    let serde = {
        let p = &api.private;
        quote!(#p::serde)
    };
    let (g, tg, _) = s.generics.split_for_impl();
    let (ident, w) = (&s.ident, s.where_each_field(&quote!(#serde::Serialize)));
    let head = quote!(#[automatically_derived] impl #g #serde::Serialize for #ident #tg #w);
    let (name, n) = (s.ident.to_string(), s.fields.len());
    let (open, method, trait_) = if s.tuple {
        (quote!(serialize_tuple_struct), quote!(serialize_field), quote!(#serde::ser::SerializeTupleStruct))
    } else {
        (quote!(serialize_struct), quote!(serialize_field), quote!(#serde::ser::SerializeStruct))
    };
    let fields = s.each(|f| {
        let m = &f.member;
        if s.tuple {
            quote!(#trait_::#method(&mut st, &self.#m)?;)
        } else {
            let key = &f.name;
            quote!(#trait_::#method(&mut st, #key, &self.#m)?;)
        }
    });
    quote! {
        #head {
            fn serialize<__S: #serde::Serializer>(&self, serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                let mut st = #serde::Serializer::#open(serializer, #name, #n)?;
                #(#fields)*
                #trait_::end(st)
            }
        }
    }
}

fn deserialize(s: &Struct, api: &Api) -> TokenStream {
    let p = &api.private;
    let serde = quote!(#p::serde);
    let ident = &s.ident;
    let (_, tg, _) = s.generics.split_for_impl();
    let w = s.where_each_field(&quote!(#serde::de::DeserializeOwned));
    // The visitor is generic over the struct's own parameters (an item inside a function cannot
    // use the function's), with the same bounds.
    let mut vg = s.generics.clone();
    vg.where_clause = Some(w.clone());
    let (vimpl, vty, vwhere) = vg.split_for_impl();
    let mut dg = vg.clone();
    dg.params.insert(0, syn::parse_quote!('de));
    let (dimpl, _, _) = dg.split_for_impl();
    let name = ident.to_string();
    let n = s.fields.len();
    let expecting = format!("struct {name} (a `#[derive(Lattice)]` struct of {n} fields)");
    let seq = s.fields.iter().enumerate().map(|(i, f)| {
        let (v, ty) = (&f.var, &f.ty);
        quote! {
            let #v = match #serde::de::SeqAccess::next_element::<#ty>(&mut seq)? {
                ::core::option::Option::Some(v) => v,
                ::core::option::Option::None => return ::core::result::Result::Err(#serde::de::Error::invalid_length(#i, &self)),
            };
        }
    });
    let build = {
        let parts = s.fields.iter().map(|f| {
            let (m, v) = (&f.member, &f.var);
            quote!(#m: #v)
        });
        quote!(#ident { #(#parts),* })
    };
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    let (call, visit_map) = if s.tuple {
        (quote!(deserialize_tuple_struct(deserializer, #name, #n, visitor)), quote!())
    } else {
        // Self-describing formats (JSON, ...) give a map: fields by name, in any order, each once.
        let slots = s.fields.iter().map(|f| {
            let (v, ty) = (&f.var, &f.ty);
            quote!(let mut #v: ::core::option::Option<#ty> = ::core::option::Option::None;)
        });
        let arms = s.fields.iter().map(|f| {
            let (v, key) = (&f.var, &f.name);
            quote! {
                #key => {
                    if #v.is_some() {
                        return ::core::result::Result::Err(#serde::de::Error::duplicate_field(#key));
                    }
                    #v = ::core::option::Option::Some(#serde::de::MapAccess::next_value(&mut map)?);
                }
            }
        });
        let take = s.fields.iter().map(|f| {
            let (v, key) = (&f.var, &f.name);
            quote! {
                let #v = #v.ok_or_else(|| #serde::de::Error::missing_field(#key))?;
            }
        });
        let visit_map = quote! {
            fn visit_map<__A: #serde::de::MapAccess<'de>>(self, mut map: __A) -> ::core::result::Result<Self::Value, __A::Error> {
                #(#slots)*
                while let ::core::option::Option::Some(key) = #serde::de::MapAccess::next_key::<#p::FieldName>(&mut map)? {
                    match key.as_str() {
                        #(#arms)*
                        other => return ::core::result::Result::Err(#serde::de::Error::unknown_field(other, FIELDS)),
                    }
                }
                #(#take)*
                ::core::result::Result::Ok(#build)
            }
        };
        (quote!(deserialize_struct(deserializer, #name, FIELDS, visitor)), visit_map)
    };
    quote! {
        #[automatically_derived]
        impl #dimpl #serde::Deserialize<'de> for #ident #tg #w {
            fn deserialize<__D: #serde::Deserializer<'de>>(deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                #[allow(dead_code)]
                const FIELDS: &[&str] = &[#(#names),*];
                struct Visitor #vimpl (::core::marker::PhantomData<fn() -> #ident #vty>) #vwhere;
                impl #dimpl #serde::de::Visitor<'de> for Visitor #vty #w {
                    type Value = #ident #tg;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_seq<__A: #serde::de::SeqAccess<'de>>(self, mut seq: __A) -> ::core::result::Result<Self::Value, __A::Error> {
                        #(#seq)*
                        ::core::result::Result::Ok(#build)
                    }
                    #visit_map
                }
                let visitor = Visitor(::core::marker::PhantomData);
                #serde::Deserializer::#call
            }
        }
    }
}

fn decode(s: &Struct, api: &Api) -> TokenStream {
    let (d, cx, e) = (&api.decode, &api.decode_cx, &api.error);
    let head = header(s, api, d, d);
    let fields = s.each(|f| {
        let (v, ty, name) = (&f.var, &f.ty, &f.name);
        quote! {
            let (#v, bytes) = <#ty as #d>::decode_prefix(bytes, cx).map_err(|e| #e::in_field(e, #name))?;
        }
    });
    let build = s.construct(|f| {
        let v = &f.var;
        quote!(#v)
    });
    quote! {
        #head {
            fn decode_prefix<'__b>(bytes: &'__b [u8], cx: &mut #cx) -> ::core::result::Result<(Self, &'__b [u8]), #e> {
                #(#fields)*
                ::core::result::Result::Ok((#build, bytes))
            }
        }
    }
}

/// `update_<field>` on the struct and on its transaction type, and `transact`.
fn mutators(s: &Struct, api: &Api) -> TokenStream {
    let l = &api.lattice;
    let (ident, vis) = (&s.ident, &s.vis);
    let tx = format_ident!("{}Transaction", ident);
    let (g, tg, w) = s.generics.split_for_impl();
    let struct_w = w;
    let mut txg = s.generics.clone();
    txg.params.insert(0, syn::parse_quote!('__tx));
    let (txi, txt, _) = txg.split_for_impl();
    let self_w = {
        let mut w = s.where_each_field(l);
        w.predicates.push(syn::parse_quote!(for<'__f> #ident #tg: #l));
        w
    };
    let on_struct = s.fields.iter().map(|f| {
        let (m, ty, fvis, name, mutator) = (&f.member, &f.ty, &f.vis, &f.name, &f.mutator);
        let only = only(s, f, quote!(delta), l);
        let doc = format!(
            "Mutates field `{name}` with `f`, a delta mutator of the field (it returns the field's \
             delta), and returns that delta as a delta of the whole struct: every other field bottom."
        );
        quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            #[must_use = "the delta is what other replicas need: send it, or join it into a delta-group"]
            #fvis fn #mutator(&mut self, f: impl ::core::ops::FnOnce(&mut #ty) -> #ty) -> Self {
                let delta = f(&mut self.#m);
                #only
            }
        }
    });
    let on_tx = s.fields.iter().map(|f| {
        let (m, ty, fvis, name, mutator) = (&f.member, &f.ty, &f.vis, &f.name, &f.mutator);
        let doc = format!(
            "Mutates field `{name}` of the state with `f`, a delta mutator of the field, and joins \
             the field's delta into the transaction's delta."
        );
        quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            #fvis fn #mutator(&mut self, f: impl ::core::ops::FnOnce(&mut #ty) -> #ty) -> &mut Self {
                let delta = f(&mut self.state.#m);
                #l::join(&mut self.delta.#m, delta);
                self
            }
        }
    });
    let tx_doc = format!(
        "A transaction on a [`{ident}`]: mutates several fields and collects ONE delta. Made by \
         [`{ident}::transact`]."
    );
    let transact_doc = "Runs `f` on a transaction over `self`: each `update_<field>` call of the \
        transaction mutates one field, and the deltas of all of them are joined into the one delta \
        returned. Cost: that of the mutators, plus joining their deltas.";
    quote! {
        #[doc = #tx_doc]
        #[allow(dead_code)]
        #vis struct #tx #txi #struct_w {
            state: &'__tx mut #ident #tg,
            delta: #ident #tg,
        }

        #[automatically_derived]
        impl #txi #tx #txt #self_w {
            #(#on_tx)*

            /// The state as mutated so far.
            #[allow(dead_code)]
            #vis fn state(&self) -> &#ident #tg {
                self.state
            }

            /// The delta collected so far.
            #[allow(dead_code)]
            #vis fn delta(&self) -> &#ident #tg {
                &self.delta
            }
        }

        #[automatically_derived]
        impl #g #ident #tg #self_w {
            #(#on_struct)*

            #[doc = #transact_doc]
            #[allow(dead_code)]
            #[must_use = "the delta is what other replicas need: send it, or join it into a delta-group"]
            #vis fn transact<'__tx>(&'__tx mut self, f: impl ::core::ops::FnOnce(&mut #tx #txt)) -> Self {
                let mut tx = #tx { state: self, delta: <Self as #l>::bottom() };
                f(&mut tx);
                tx.delta
            }
        }
    }
}
