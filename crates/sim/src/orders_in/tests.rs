use super::*;
use waypost_orders::ChannelState;
use waypost_orders::channels::{generic, shopify, woocommerce};

fn mix(orders: usize) -> Mix {
    Mix {
        orders,
        seed: 11,
        planted: vec![
            (Planted::UnknownSku, 2.0),
            (Planted::MissingStreet, 2.0),
            (Planted::OverQuantity, 2.0),
            (Planted::Duplicate, 2.0),
            (Planted::Cancelled, 2.0),
        ],
        every_kind: true,
        high_pct: 20.0,
        api_batch: 10,
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("an instant")
}

#[test]
fn same_seed_same_day_and_every_kind_planted() {
    let a = plan(&mix(300), now()).expect("a day");
    let b = plan(&mix(300), now()).expect("a day");
    let ids = |d: &IntakeDay| {
        d.truths
            .iter()
            .map(|t| t.order_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
    let mut unique = ids(&a);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 300, "order ids are unique");
    let carried: usize = a.deliveries.iter().map(|d| d.orders.len()).sum();
    assert_eq!(carried, 300, "every order is in exactly one delivery");
    for (kind, _) in mix(1).planted {
        assert!(a.truths.iter().any(|t| t.planted == kind), "{kind:?}");
    }
    for d in &a.deliveries {
        let dup = d
            .orders
            .iter()
            .any(|&i| a.truths[i].planted == Planted::Duplicate);
        assert_eq!(d.after_earlier, dup, "duplicates wait for their originals");
        if dup {
            assert_eq!(d.orders.len(), 1);
        }
    }
    // Every order a duplicate copies (same customer) is sent in an earlier delivery.
    let delivery_of = |i: usize| a.deliveries.iter().position(|d| d.orders.contains(&i));
    for (i, t) in a.truths.iter().enumerate() {
        if t.planted != Planted::Duplicate {
            continue;
        }
        let body = |i: usize| {
            let d = &a.deliveries[delivery_of(i).expect("delivered")];
            String::from_utf8_lossy(&d.body).into_owned()
        };
        let dup = body(i);
        let original = (0..i)
            .rev()
            .find(|&j| {
                a.truths[j].route == t.route
                    && a.truths[j].planted == Planted::None
                    && dup.contains(&format!("buyer{}@", j))
            })
            .unwrap_or_else(|| panic!("no original for {t:?}"));
        assert!(delivery_of(original) < delivery_of(i), "{t:?}");
    }
}

#[test]
fn the_documents_read_as_the_truth_says() {
    let day = plan(&mix(300), now()).expect("a day");
    for d in &day.deliveries {
        let read = match d.route {
            Route::Api => generic::read(&d.body),
            Route::Shopify => shopify::rest(&d.body, Some(settings::SHOP_DOMAIN)),
            Route::Woocommerce => woocommerce::read(&d.body, Some(settings::WOO_SITE)),
            Route::X12 => continue,
        };
        let orders = read.unwrap_or_else(|e| panic!("{:?}: {e}", d.route));
        assert_eq!(orders.len(), d.orders.len(), "{:?}", d.route);
        for (o, &i) in orders.iter().zip(&d.orders) {
            let t = &day.truths[i];
            let street = o
                .ship_to
                .as_ref()
                .is_some_and(|a| a.lines.iter().any(|l| !l.trim().is_empty()));
            assert_eq!(street, t.planted != Planted::MissingStreet, "{t:?}: {o:?}");
            let cancelled = matches!(o.state, ChannelState::Cancelled { .. });
            assert_eq!(
                cancelled,
                t.planted == Planted::Cancelled,
                "{t:?}: {:?}",
                o.state
            );
            let qty = o.lines.first().map(|l| l.quantity.to_string());
            if t.planted == Planted::OverQuantity {
                assert_eq!(qty.as_deref(), Some("500"), "{t:?}");
            }
        }
    }
}
