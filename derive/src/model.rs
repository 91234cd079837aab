//! The struct as the generator sees it: its name, generics and fields. Nothing here knows about
//! `convergent`'s traits.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, Member, Path, Type, Visibility, WhereClause};

/// One field of the struct.
pub(crate) struct Field {
    /// `self.#member`: an identifier, or an index in a tuple struct.
    pub(crate) member: Member,
    /// The name errors report: the identifier, or the index in a tuple struct.
    pub(crate) name: String,
    /// A local variable holding this field's value in generated code.
    pub(crate) var: Ident,
    /// The per-field mutator: `update_<name>`.
    pub(crate) mutator: Ident,
    pub(crate) ty: Type,
    pub(crate) vis: Visibility,
    /// Whether the type names a type or const parameter of the struct.
    pub(crate) generic: bool,
}

impl Field {
    /// The span of the field's type: errors about the type point there.
    pub(crate) fn span(&self) -> Span {
        self.ty.span()
    }
}

/// A struct with named or tuple fields.
pub(crate) struct Struct {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) generics: Generics,
    pub(crate) fields: Vec<Field>,
    /// Whether the fields are positional (`struct S(A, B);`).
    pub(crate) tuple: bool,
    /// The path of the `convergent` crate (`::convergent` unless `#[lattice(crate = "...")]`).
    pub(crate) root: Path,
}

impl Struct {
    /// Reads a derive input: a struct with at least one field, and the container attribute.
    pub(crate) fn parse(input: &DeriveInput) -> syn::Result<Self> {
        let mut root: Path = syn::parse_quote!(::convergent);
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("lattice")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    let lit: syn::LitStr = meta.value()?.parse()?;
                    root = lit.parse()?;
                    Ok(())
                } else {
                    Err(meta.error("unknown `lattice` attribute: the one attribute is `crate = \"path\"`"))
                }
            })?;
        }
        let data = match &input.data {
            Data::Struct(s) => s,
            Data::Enum(e) => {
                return Err(syn::Error::new(
                    e.enum_token.span,
                    "`Lattice` can be derived for structs only: the variants of an enum have no join \
                     (replicate a choice with an `LwwRegister` or an `MvRegister` of the enum)",
                ));
            }
            Data::Union(u) => {
                return Err(syn::Error::new(u.union_token.span, "`Lattice` can be derived for structs only"));
            }
        };
        let (tuple, raw) = match &data.fields {
            Fields::Named(f) => (false, f.named.iter().collect::<Vec<_>>()),
            Fields::Unnamed(f) => (true, f.unnamed.iter().collect()),
            Fields::Unit => (false, Vec::new()),
        };
        if raw.is_empty() {
            return Err(syn::Error::new(
                input.ident.span(),
                "`Lattice` needs at least one field: a struct without fields has nothing to replicate",
            ));
        }
        let params: Vec<String> = input
            .generics
            .params
            .iter()
            .filter_map(|p| match p {
                syn::GenericParam::Type(t) => Some(t.ident.to_string()),
                syn::GenericParam::Const(c) => Some(c.ident.to_string()),
                syn::GenericParam::Lifetime(_) => None,
            })
            .collect();
        let fields = raw
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let (member, name) = match &f.ident {
                    Some(id) => (Member::Named(id.clone()), unraw(id)),
                    None => (Member::Unnamed(syn::Index::from(i)), i.to_string()),
                };
                Field {
                    member,
                    var: format_ident!("__field_{}", name),
                    mutator: format_ident!("update_{}", name),
                    name,
                    ty: f.ty.clone(),
                    vis: f.vis.clone(),
                    generic: mentions(f.ty.to_token_stream(), &params),
                }
            })
            .collect();
        Ok(Struct {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            generics: input.generics.clone(),
            fields,
            tuple,
            root,
        })
    }

    /// The struct's `where` clause plus `FieldType: bound` for every field, spanned on the field's
    /// type. The bound on a type that names no parameter of the struct is written
    /// `for<'__f> FieldType: bound`, which the compiler checks where the impl is used rather than
    /// where it is defined: a field that is not a lattice makes one error (from
    /// [`Struct::assert_fields`]), not one per impl.
    pub(crate) fn where_each_field(&self, bound: &TokenStream) -> WhereClause {
        let mut w = self.generics.where_clause.clone().unwrap_or_else(|| syn::parse_quote!(where));
        for f in &self.fields {
            let ty = &f.ty;
            let b = respan(bound, f.span());
            w.predicates.push(if f.generic {
                syn::parse_quote_spanned!(f.span()=> #ty: #b)
            } else {
                syn::parse_quote_spanned!(f.span()=> for<'__f> #ty: #b)
            });
        }
        w
    }

    /// For every field whose type names no parameter of the struct: a check that the type has
    /// `bound`, spanned on the type, so that the compiler's error points at the field.
    pub(crate) fn assert_fields(&self, bound: &TokenStream) -> TokenStream {
        let checks = self.fields.iter().filter(|f| !f.generic).map(|f| {
            let ty = &f.ty;
            let check = format_ident!("field_{}_must_be_a_lattice", f.name, span = f.span());
            let b = respan(bound, f.span());
            quote_spanned! {f.span()=>
                #[allow(non_snake_case)]
                fn #check<T: ?::core::marker::Sized + #b>() {}
                let _ = #check::<#ty>;
            }
        });
        quote!(const _: () = { #(#checks)* };)
    }

    /// `Self { a: <expr of a>, b: <expr of b> }` (`Self { 0: .., 1: .. }` in a tuple struct).
    pub(crate) fn construct(&self, value: impl Fn(&Field) -> TokenStream) -> TokenStream {
        let parts = self.fields.iter().map(|f| {
            let m = &f.member;
            let v = value(f);
            quote_spanned!(f.span()=> #m: #v)
        });
        quote!(Self { #(#parts),* })
    }

    /// The pattern `Self { a: __field_a, b: __field_b }` that moves every field into its variable.
    pub(crate) fn destructure(&self) -> TokenStream {
        let parts = self.fields.iter().map(|f| {
            let (m, v) = (&f.member, &f.var);
            quote!(#m: #v)
        });
        quote!(Self { #(#parts),* })
    }

    /// One statement or expression per field, spanned on the field's type.
    pub(crate) fn each(&self, code: impl Fn(&Field) -> TokenStream) -> Vec<TokenStream> {
        self.fields
            .iter()
            .map(|f| {
                let c = code(f);
                quote_spanned!(f.span()=> #c)
            })
            .collect()
    }
}

/// Whether `tokens` contain one of the identifiers `names`.
fn mentions(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => names.iter().any(|n| i == n),
        TokenTree::Group(g) => mentions(g.stream(), names),
        _ => false,
    })
}

/// `tokens`, every one of them (recursively) placed at `span`.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut t| {
            if let TokenTree::Group(g) = &t {
                let mut inner = Group::new(g.delimiter(), respan(&g.stream(), span));
                inner.set_span(span);
                t = TokenTree::Group(inner);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// An identifier as written, without a raw-identifier prefix (`r#type` is field `type`).
fn unraw(id: &Ident) -> String {
    let s = id.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}
