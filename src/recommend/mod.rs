//! The answer of `ainrec recommend` and the page: a model's [`top_k`] over the catalog as
//! ids, names, scores and attention ([`recommend`]), optionally re-ranked so that one artist
//! does not fill the list ([`crate::ranking::diversity`]). Evaluation ranks with
//! [`crate::ranking`] directly.

use serde::{Deserialize, Serialize};

use crate::data::Catalog;
use crate::error::{Error, Result};
use crate::ranking::{check_scores, top_k, Recommender, UserInput};

/// One entry of the `attention` list of a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    /// A history item's id.
    pub id: String,
    /// Its weight.
    pub weight: f32,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The item's id in the model's catalog.
    pub id: String,
    /// Display name, when the catalog has one (an addition to the issue-4 schema; readers that
    /// do not know it ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The model's score.
    pub score: f32,
    /// History items the model attended to, strongest first (empty for models without attention).
    pub attention: Vec<Attention>,
    /// 0-based position in the model's order before the diversity re-rank (present when a
    /// diversity limit was asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_rank: Option<usize>,
}

/// What `ainrec recommend` prints:
/// `{"recommendations": [{"id", "score", "attention": [{"id", "weight"}]}]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecommendOutput {
    /// Best first; never an item of the history.
    pub recommendations: Vec<Recommendation>,
    /// History ids the model's catalog does not know (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_ids: Vec<String>,
    /// What the answer could not use and did instead, in words (omitted when empty), e.g.
    /// fine-tuned weights that do not fit the model, as the page says it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Ranks the catalog for `input` and builds the output (without `unknown_ids`, which the caller
/// knows). Attention lists are sorted by weight, strongest first.
pub fn recommend(
    model: &dyn Recommender,
    catalog: &Catalog,
    input: &UserInput,
    k: usize,
) -> Result<RecommendOutput> {
    if model.n_items() != catalog.len() {
        return Err(Error::Model(format!(
            "{} scores {} items but the catalog has {}",
            model.name(),
            model.n_items(),
            catalog.len()
        )));
    }
    let scores = model.score(input)?;
    check_scores(model.name(), &scores, catalog.len())?;
    let mut recommendations = Vec::new();
    for (item, score) in top_k(&scores, &input.item_indices(), k) {
        let mut att = model.explain(input, item)?;
        att.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        recommendations.push(Recommendation {
            id: catalog.id(item).to_owned(),
            name: catalog.name(item).map(str::to_owned),
            score,
            attention: att
                .into_iter()
                .map(|(i, w)| Attention {
                    id: catalog.id(i).to_owned(),
                    weight: w,
                })
                .collect(),
            model_rank: None,
        });
    }
    Ok(RecommendOutput {
        recommendations,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Listen;
    use crate::ranking::tests::Fixed;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn recommend_never_returns_history_and_serialises_the_schema() {
        let mut cat = Catalog::new();
        for id in ["10", "11", "12", "13"] {
            cat.insert(id);
        }
        cat.set_name(2, "Twelve");
        let model = Fixed(vec![4.0, 3.0, 2.0, 1.0]);
        let input = UserInput::from_listens(&[Listen {
            item: 0,
            plays: 1,
            time: None,
        }]);
        let out = recommend(&model, &cat, &input, 2).unwrap();
        let ids: Vec<&str> = out.recommendations.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["11", "12"]);
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["recommendations"][0]["attention"][0]["id"], "10");
        assert_eq!(json["recommendations"][1]["name"], "Twelve");
        assert!(json["recommendations"][0].get("name").is_none());
        assert!(json.get("unknown_ids").is_none());
        assert!(recommend(&Fixed(vec![0.0; 3]), &cat, &input, 2).is_err());
        assert!(recommend(&Fixed(vec![f32::NAN; 4]), &cat, &input, 2).is_err());
    }
}
