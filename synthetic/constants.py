"""Fixed reference data of the synthetic world: platforms, regions, categories, calendars, text templates."""

from __future__ import annotations

from decimal import Decimal

# platform_id, name, market, country, currency, timezone, language, id prefix
PLATFORMS = [
    ("tmall", "Tmall", "domestic", "CN", "CNY", "Asia/Shanghai", "zh", "TM"),
    ("jd", "JD.com", "domestic", "CN", "CNY", "Asia/Shanghai", "zh", "JD"),
    ("amazon_us", "Amazon US", "cross_border", "US", "USD", "America/New_York", "en", "AU"),
    ("amazon_de", "Amazon DE", "cross_border", "DE", "EUR", "Europe/Berlin", "de", "AD"),
    ("amazon_uk", "Amazon UK", "cross_border", "GB", "GBP", "Europe/London", "en", "AK"),
    ("rakuten", "Rakuten Ichiba", "cross_border", "JP", "JPY", "Asia/Tokyo", "ja", "RK"),
]
PLATFORM_IDS = [p[0] for p in PLATFORMS]
CURRENCIES = ["CNY", "EUR", "GBP", "JPY", "USD"]

# units per USD around which the daily fx rates move
BASE_RATE = {"CNY": 7.15, "EUR": 0.92, "GBP": 0.79, "JPY": 150.0, "USD": 1.0}
# charm pricing per currency: ceil(x / step) * step - minus
PRICE_STEP = {"CNY": "10", "EUR": "1", "GBP": "1", "JPY": "100", "USD": "1"}
PRICE_MINUS = {"CNY": "1", "EUR": "0.05", "GBP": "0.01", "JPY": "20", "USD": "0.01"}
SHIPPING_FEE = {"CNY": "10.00", "EUR": "3.99", "GBP": "3.49", "JPY": "550.00", "USD": "5.99"}
FREE_SHIPPING_FROM = {"CNY": "99.00", "EUR": "39.00", "GBP": "35.00", "JPY": "3980.00", "USD": "35.00"}
# promotion money per currency: threshold "T off A", coupon "T off A", cross-shop "T off A", presale X/Y
PROMO_MONEY = {
    "CNY": dict(thr=("300", "50"), cpn=("199", "30"), xs=("400", "50"), presale=("50", "100")),
    "USD": dict(thr=("50", "8"), cpn=("40", "5"), xs=("60", "7"), presale=("10", "20")),
    "EUR": dict(thr=("50", "7"), cpn=("40", "5"), xs=("60", "7"), presale=("10", "20")),
    "GBP": dict(thr=("40", "6"), cpn=("30", "4"), xs=("50", "6"), presale=("8", "15")),
    "JPY": dict(thr=("5000", "800"), cpn=("4000", "500"), xs=("6000", "700"), presale=("1000", "2000")),
}
PRICE_FACTOR = {"tmall": 1.0, "jd": 0.98, "amazon_us": 1.1, "amazon_de": 1.12, "amazon_uk": 1.1, "rakuten": 1.15}

# person home countries and which platforms they hold accounts on: (platform, probability); first is primary
COUNTRY_WEIGHTS = [("CN", 55), ("US", 15), ("DE", 8), ("GB", 8), ("JP", 8), ("FR", 6)]
ACCOUNT_PROB = {
    "CN": [("tmall", 1.0), ("jd", 0.45)],
    "US": [("amazon_us", 1.0), ("amazon_uk", 0.06)],
    "DE": [("amazon_de", 1.0), ("amazon_uk", 0.2)],
    "GB": [("amazon_uk", 1.0), ("amazon_de", 0.2)],
    "JP": [("rakuten", 1.0), ("amazon_us", 0.15)],
    "FR": [("amazon_de", 1.0), ("amazon_uk", 0.1)],
}
COUNTRY_CODE = {"CN": "86", "US": "1", "DE": "49", "GB": "44", "JP": "81", "FR": "33"}
# (province, city, local address prefix); favourite category of the region in the last slot
REGIONS = {
    "CN": [("Zhejiang", "Hangzhou", "浙江省杭州市", "beauty"), ("Guangdong", "Guangzhou", "广东省广州市", "beauty"),
           ("Guangdong", "Shenzhen", "广东省深圳市", "electronics"), ("Shanghai", "Shanghai", "上海市", "beauty"),
           ("Beijing", "Beijing", "北京市", "apparel"), ("Sichuan", "Chengdu", "四川省成都市", "shoes"),
           ("Jiangsu", "Nanjing", "江苏省南京市", "home"), ("Heilongjiang", "Harbin", "黑龙江省哈尔滨市", "apparel")],
    "US": [("California", "Los Angeles", "", "sports"), ("New York", "New York", "", "apparel"),
           ("Texas", "Houston", "", "home"), ("Washington", "Seattle", "", "electronics")],
    "DE": [("Bayern", "München", "", "sports"), ("Berlin", "Berlin", "", "apparel"),
           ("Hamburg", "Hamburg", "", "home"), ("Hessen", "Frankfurt", "", "electronics")],
    "GB": [("England", "London", "", "apparel"), ("England", "Manchester", "", "sports"),
           ("Scotland", "Edinburgh", "", "home")],
    "JP": [("Tokyo", "Tokyo", "東京都", "beauty"), ("Osaka", "Osaka", "大阪府大阪市", "electronics"),
           ("Kanagawa", "Yokohama", "神奈川県横浜市", "home")],
    "FR": [("Île-de-France", "Paris", "", "beauty"), ("Auvergne-Rhône-Alpes", "Lyon", "", "home")],
}
STREETS = {
    "CN": ["文三路", "人民路", "中山路", "解放路", "建设路", "南京路"],
    "US": ["Main", "Oak", "Maple", "Park", "Sunset", "Lake"],
    "DE": ["Haupt", "Garten", "Schiller", "Goethe", "Bahnhof"],
    "GB": ["High", "Church", "Victoria", "Station", "Mill"],
    "JP": ["渋谷区神南", "中央区銀座", "北区梅田", "西区みなとみらい"],
    "FR": ["de la Paix", "Victor Hugo", "des Lilas", "Pasteur"],
}
DISTRICTS_CN = ["西湖区", "天河区", "朝阳区", "浦东新区", "武侯区", "鼓楼区"]

CATEGORIES = ["apparel", "shoes", "beauty", "electronics", "home", "sports"]
SUBCATEGORIES = {
    "apparel": ["tops", "dresses", "outerwear", "pants"], "shoes": ["sneakers", "boots", "sandals"],
    "beauty": ["skincare", "makeup", "fragrance"], "electronics": ["audio", "accessories", "wearables"],
    "home": ["kitchen", "decor", "bedding"], "sports": ["yoga", "outdoor", "fitness"],
}
CATEGORY_PRICE_USD = {"apparel": 40, "shoes": 85, "beauty": 30, "electronics": 110, "home": 45, "sports": 50}
# base probability that a delivered line is returned, by category
CATEGORY_RETURN = {"apparel": 0.22, "shoes": 0.18, "beauty": 0.03, "electronics": 0.07, "home": 0.05, "sports": 0.10}
SIZES = {
    "apparel": ["XS", "S", "M", "L", "XL"], "shoes": ["36", "37", "38", "39", "40", "41", "42", "43", "44"],
    "sports": ["S", "M", "L", "XL"], "beauty": ["one_size"], "electronics": ["one_size"], "home": ["one_size"],
}
EXTREME_SIZES = ["XS", "XL", "36", "44"]
COLORS = ["black", "white", "red", "navy", "beige", "green", "pink", "grey"]
# favourite category by gender and age band (demographic preference); regions override part of it
FAV_CATEGORY = {
    "F_young": [("apparel", 35), ("beauty", 35), ("shoes", 15), ("sports", 10), ("electronics", 3), ("home", 2)],
    "F_mid": [("beauty", 35), ("apparel", 25), ("home", 25), ("shoes", 8), ("sports", 5), ("electronics", 2)],
    "M_young": [("electronics", 35), ("shoes", 25), ("sports", 20), ("apparel", 15), ("beauty", 3), ("home", 2)],
    "M_mid": [("electronics", 30), ("home", 25), ("sports", 20), ("apparel", 15), ("shoes", 8), ("beauty", 2)],
}
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 6, 7, 8, 10, 11, 10, 6]
WEEKDAY_FACTOR = [0.95, 0.93, 0.95, 0.98, 1.05, 1.15, 1.2]   # Monday .. Sunday

# sale events: key, name, markets or platforms, (month, day) start, days, presale days before start, boost
# "black_friday" is placed on the day after the 4th Thursday of November.
SALE_EVENTS = [
    ("new_year", "New Year Sale", PLATFORM_IDS, (1, 1), 3, 0, 1.4),
    ("women_38", "3.8 Goddess Festival", ["tmall", "jd"], (3, 6), 3, 10, 2.2),
    ("spring_deals", "Big Spring Sale", ["amazon_us", "amazon_de", "amazon_uk"], (3, 20), 6, 0, 1.6),
    ("super_sale_mar", "Rakuten Super Sale (March)", ["rakuten"], (3, 4), 7, 7, 2.4),
    ("mid_618", "618 Shopping Festival", ["tmall", "jd"], (6, 16), 3, 14, 3.5),
    ("super_sale_jun", "Rakuten Super Sale (June)", ["rakuten"], (6, 4), 7, 7, 2.4),
    ("prime_day", "Prime Day", ["amazon_us", "amazon_de", "amazon_uk"], (7, 16), 2, 0, 3.2),
    ("super_sale_sep", "Rakuten Super Sale (September)", ["rakuten"], (9, 4), 7, 7, 2.4),
    ("double_11", "Double 11", ["tmall", "jd"], (11, 10), 2, 20, 7.0),
    ("black_friday", "Black Friday / Cyber Monday", ["amazon_us", "amazon_de", "amazon_uk"], None, 4, 0, 4.5),
    ("double_12", "Double 12", ["tmall", "jd"], (12, 12), 1, 0, 2.0),
    ("super_sale_dec", "Rakuten Super Sale (December)", ["rakuten"], (12, 4), 7, 7, 2.4),
]
# days before a sale without deposit presale in which demand ramps up (early deals)
RAMP_DAYS = 7

PAYMENT_METHODS = {
    "tmall": [("alipay", 80), ("credit_card", 12), ("huabei", 8)],
    "jd": [("jd_pay", 50), ("wechat_pay", 35), ("credit_card", 15)],
    "amazon_us": [("credit_card", 75), ("paypal", 15), ("gift_card", 10)],
    "amazon_de": [("credit_card", 45), ("paypal", 35), ("sepa_debit", 20)],
    "amazon_uk": [("credit_card", 70), ("paypal", 25), ("gift_card", 5)],
    "rakuten": [("credit_card", 60), ("rakuten_pay", 25), ("konbini", 15)],
}
CARRIERS = {"CN": ["SF Express", "JD Logistics", "ZTO"], "US": ["UPS", "USPS"], "DE": ["DHL", "Hermes"],
            "GB": ["Royal Mail", "DPD"], "JP": ["Yamato", "Sagawa"], "FR": ["Colissimo", "DHL"]}
CROSS_BORDER_CARRIERS = ["Cainiao", "YunExpress", "4PX"]
# warehouse_id, name, country, province, city, capacity_units
WAREHOUSES = [
    ("WH-CN-SH", "Shanghai Qingpu DC", "CN", "Shanghai", "Shanghai", 500000),
    ("WH-CN-GZ", "Guangzhou Baiyun DC", "CN", "Guangdong", "Guangzhou", 400000),
    ("WH-CN-BJ", "Beijing Daxing DC", "CN", "Beijing", "Beijing", 300000),
    ("WH-US-NJ", "New Jersey Fulfilment, Edison", "US", "New Jersey", "Edison", 250000),
    ("WH-DE-LE", "Leipzig Logistikzentrum", "DE", "Sachsen", "Leipzig", 200000),
    ("WH-GB-MK", "Milton Keynes FC", "GB", "England", "Milton Keynes", 150000),
    ("WH-JP-CB", "Chiba Logistics Center", "JP", "Chiba", "Ichikawa", 150000),
]
HUBS = {"CN": ["Hangzhou hub", "Wuhan hub", "Zhengzhou hub"], "US": ["Louisville hub", "Memphis hub"],
        "DE": ["Kassel hub", "Leipzig hub"], "GB": ["Birmingham hub", "Coventry hub"],
        "JP": ["Tokyo hub", "Osaka hub"], "FR": ["Roissy hub", "Lyon hub"]}
CHANNELS = {
    "domestic": [("search", 30), ("recommendation", 25), ("livestream", 20), ("ads", 10), ("social", 10), ("direct", 5)],
    "cross_border": [("search", 45), ("ads", 20), ("recommendation", 15), ("email", 8), ("social", 7), ("direct", 5)],
}
DEVICES = {"young": [("ios", 40), ("android", 45), ("web", 10), ("mini_program", 5)],
           "mid": [("ios", 30), ("android", 30), ("web", 35), ("mini_program", 5)]}
RETURN_REASONS = ["size_too_small", "size_too_large", "not_as_described", "defective", "changed_mind", "late_delivery"]
BRAND_SYLLABLES = ["Lu", "Ka", "Mo", "Ri", "Sen", "Vo", "Zen", "Ta", "Mi", "No", "Qi", "Bel", "Ar", "Ko", "Fe", "Yu"]
BRAND_SUFFIXES = ["", " Studio", " Lab", " & Co", " Atelier", " Life"]
BRAND_HOME = [("CN", 50), ("US", 12), ("FR", 10), ("JP", 10), ("GB", 8), ("DE", 10)]

LANGUAGE = {"tmall": "zh", "jd": "zh", "amazon_us": "en", "amazon_de": "de", "amazon_uk": "en", "rakuten": "ja"}
# Reviews are written aspect by aspect: sentences about sizing, quality, delivery, price, packaging or looks,
# praising (pos) or complaining (neg); a 3-star review mixes one of each or says something lukewarm (REVIEW_NEUTRAL).
# A complaint names what went wrong with the line (its return reason, a late delivery) when something did.
REVIEW_ASPECTS = {
    "zh": {"sizing": (["尺码合适，穿着很舒服。", "大小刚好，合身。"], ["尺码偏小，穿不上。", "尺寸偏大，不合身。"]),
           "quality": (["质量很好，做工精细。", "质量不错，很结实。"], ["质量太差了，用了两天就坏了。", "做工粗糙，有瑕疵。"]),
           "delivery": (["物流很快，第二天就到了。", "快递给力，发货及时。"], ["物流太慢了，等了好久。", "快递一直不更新，送货太晚。"]),
           "price": (["价格实惠，性价比高。", "这个价钱很值。"], ["价格太贵了，不值。", "比别家贵不少。"]),
           "packaging": (["包装完好，很用心。", "包装精美，送人合适。"], ["包装破损，盒子压坏了。", "包装太简陋了。"]),
           "appearance": (["颜色和图片一样，很好看。", "颜色很正，很漂亮。"], ["颜色和图片差很多。", "实物颜色发暗，不好看。"])},
    "en": {"sizing": (["Fits perfectly, true to size.", "The size is just right."], ["Runs small, too tight for me.", "Far too large, the size is off."]),
           "quality": (["Great quality, well made.", "Solid quality for daily use."], ["Poor quality, it broke after a week.", "Cheaply made, the seams came apart."]),
           "delivery": (["Fast delivery, arrived the next day.", "Shipping was quick."], ["Arrived very late.", "Delivery took forever, shipping was slow."]),
           "price": (["Good value for money.", "Fair price for what you get."], ["Too expensive for what it is.", "Overpriced, not worth the price."]),
           "packaging": (["Nicely packaged, came in a sturdy box.", "Packaging was neat."], ["The box was crushed, poor packaging.", "Packaging was damaged on arrival."]),
           "appearance": (["Exactly as pictured, lovely colour.", "Looks great, colour as shown."], ["The colour is nothing like pictured.", "Looks cheaper than pictured."])},
    "de": {"sizing": (["Passt perfekt, Größe stimmt.", "Die Größe ist genau richtig."], ["Fällt zu klein aus, passt nicht.", "Viel zu groß, Größe stimmt nicht."]),
           "quality": (["Sehr gute Qualität, gut verarbeitet.", "Qualität ist top."], ["Schlechte Qualität, nach einer Woche kaputt.", "Mangelhaft verarbeitet."]),
           "delivery": (["Schnelle Lieferung, am nächsten Tag da.", "Versand war schnell."], ["Lieferung kam viel zu spät.", "Der Versand dauerte ewig."]),
           "price": (["Guter Preis für die Leistung.", "Preis ist fair."], ["Zu teuer für das, was es ist.", "Den Preis nicht wert."]),
           "packaging": (["Gut verpackt.", "Die Verpackung war sauber."], ["Verpackung war beschädigt.", "Schlechte Verpackung, alles zerdrückt."]),
           "appearance": (["Farbe wie auf dem Bild, sehr schön.", "Sieht toll aus."], ["Die Farbe ist ganz anders als auf dem Bild.", "Sieht billig aus."])},
    "ja": {"sizing": (["サイズはぴったりでした。", "サイズ感がちょうどいいです。"], ["サイズが小さくて着られません。", "サイズが大きすぎました。"]),
           "quality": (["品質がとても良いです。", "しっかりした作りで品質も良い。"], ["品質が悪く、すぐ壊れました。", "作りが雑で不良品でした。"]),
           "delivery": (["配送が早くて満足です。", "翌日に届きました。"], ["配達がとても遅かったです。", "届くまで時間がかかりすぎました。"]),
           "price": (["値段の割に良いです。", "価格が安くてお得です。"], ["値段が高すぎます。", "この価格では高いと思います。"]),
           "packaging": (["梱包が丁寧でした。", "きれいな梱包でした。"], ["梱包が雑で箱が潰れていました。", "梱包が破れていました。"]),
           "appearance": (["写真通りの色で素敵です。", "色がきれいです。"], ["写真と色が全然違います。", "色が写真より暗いです。"])},
}
REVIEW_NEUTRAL = {"zh": ["还可以，一般般。", "中规中矩吧。", "没什么特别的。"],
                  "en": ["It's okay.", "Decent, but nothing special.", "Average, does the job."],
                  "de": ["Ganz okay.", "In Ordnung, nichts Besonderes.", "Durchschnittlich."],
                  "ja": ["まあまあです。", "普通です。", "可もなく不可もなくです。"]}
REVIEW_TEXT_MISMATCH = 0.04    # share of reviews whose words belong to another star tier (a 5-star complaint)
# Customer-service chats. A question is an opener + one of several phrasings of its intent + a closer, so that
# chats after a time cut-off hold combinations never seen before it; an agent answers in one of two styles
# (the house answer most of the time, a colleague's own wording otherwise), sometimes with a greeting.
CHAT_OPENERS = {"zh": ["", "你好，", "亲，", "在吗？"], "en": ["", "Hi, ", "Hello! ", "Hey there, "],
                "de": ["", "Hallo, ", "Guten Tag, ", "Hi, "], "ja": ["", "すみません、", "こんにちは。"]}
CHAT_CLOSERS = {"zh": ["", "谢谢", "急！", "麻烦尽快回复"], "en": ["", " Thanks!", " Please help.", " Thank you"],
                "de": ["", " Danke!", " Vielen Dank.", " Bitte um Antwort."], "ja": ["", "よろしくお願いします。", "ありがとうございます。"]}
AGENT_GREETINGS = {"zh": ["", "您好，"], "en": ["", "Hi! "], "de": ["", "Hallo! "], "ja": ["", "お問い合わせありがとうございます。"]}
HOUSE_ANSWER_SHARE = 0.75      # share of chats answered in the house style (the first answer)
CHAT_TEXT = {  # intent -> language -> (phrasings of the question, (house answer, a colleague's answer))
    "where_is_my_order": {
        "zh": (["我的快递到哪了？", "包裹怎么还没到？", "物流一直不更新，怎么回事？", "什么时候能收到货？"],
               ("亲，您的包裹正在派送中，请耐心等待。", "物流显示包裹已到本地转运中心，预计一到两天送达。")),
        "en": (["Where is my order?", "My parcel hasn't arrived yet.", "Tracking hasn't updated for days, what's going on?",
                "When will my package be delivered?"],
               ("Your parcel is on its way; tracking shows it at the local hub.",
                "The carrier expects to deliver within two days, sorry for the wait.")),
        "de": (["Wo ist meine Bestellung?", "Mein Paket ist noch nicht angekommen.", "Die Sendungsverfolgung zeigt nichts Neues.",
                "Wann wird mein Paket geliefert?"],
               ("Ihr Paket ist unterwegs und wird bald zugestellt.",
                "Laut Spediteur erfolgt die Zustellung in zwei Werktagen.")),
        "ja": (["注文した商品はいつ届きますか？", "荷物がまだ届きません。", "追跡情報が更新されていません。", "配送状況を教えてください。"],
               ("現在配送中です。もう少々お待ちください。", "配送業者によると二日以内にお届け予定です。")),
    },
    "return_request": {
        "zh": (["我想退货，怎么操作？", "衣服尺码不合适，可以退吗？", "收到的东西有问题，要退货", "怎么申请退款退货？"],
               ("亲，请在订单页面申请退货，我们会尽快处理。", "可以退的，七天无理由退货，寄回后为您退款。")),
        "en": (["How do I return this item?", "It doesn't fit, can I send it back?", "The item arrived damaged, I want a return",
                "How can I get a refund for this?"],
               ("Please request the return from your order page.",
                "Sure, send it back within 30 days and we refund you once it arrives.")),
        "de": (["Wie kann ich den Artikel zurückgeben?", "Passt leider nicht, kann ich es zurückschicken?",
                "Der Artikel ist beschädigt angekommen.", "Wie bekomme ich mein Geld zurück?"],
               ("Bitte beantragen Sie die Rücksendung im Konto.",
                "Sie können den Artikel innerhalb von 30 Tagen kostenlos zurücksenden.")),
        "ja": (["返品したいです。", "サイズが合わないので返品できますか？", "商品が破損していました。", "返金の手続きを教えてください。"],
               ("注文履歴から返品申請をお願いいたします。", "到着後30日以内であれば返品を承ります。")),
    },
    "size_advice": {
        "zh": (["身高165体重50穿什么码？", "这款偏大还是偏小？", "平时穿M码，这个选哪个？", "尺码怎么选？"],
               ("亲，建议您选择M码哦。", "这款版型正常，按平时尺码选就可以。")),
        "en": (["Which size should I pick?", "Does this run small or large?", "I usually wear a medium, which one fits?",
                "Can you help me choose a size?"],
               ("We recommend your usual size; the cut is regular.", "It runs true to size, so take the one you usually wear.")),
        "de": (["Welche Größe soll ich nehmen?", "Fällt das Modell groß oder klein aus?", "Ich trage sonst M, passt das?",
                "Können Sie mir bei der Größe helfen?"],
               ("Wir empfehlen Ihre normale Größe.", "Das Modell fällt normal aus, nehmen Sie Ihre übliche Größe.")),
        "ja": (["サイズはどれがいいですか？", "このサイズ感は大きめですか？", "普段Mサイズですが、どれを選べばいいですか？", "サイズ選びを手伝ってください。"],
               ("普段のサイズをおすすめします。", "標準的なサイズ感ですので、いつものサイズで大丈夫です。")),
    },
    "presale_balance": {
        "zh": (["定金什么时候付尾款？", "尾款哪天开始付？", "预售的尾款怎么付？", "付了定金，后面还要做什么？"],
               ("亲，尾款在活动开始后两天内支付哦。", "活动开始当天会提醒您付尾款，逾期定金不退哦。")),
        "en": (["When do I pay the balance?", "When is the rest of the presale payment due?", "How do I pay the remaining amount?",
                "I paid the deposit, what happens next?"],
               ("The balance is due within two days of the sale start.",
                "We will remind you to pay the rest when the sale starts; the deposit is kept if you don't.")),
        "de": (["Wann zahle ich den Restbetrag?", "Bis wann muss der Rest bezahlt werden?", "Wie bezahle ich den Restbetrag?",
                "Ich habe die Anzahlung geleistet, was nun?"],
               ("Der Restbetrag ist in den ersten zwei Tagen fällig.",
                "Zum Start des Sales erinnern wir Sie an die Zahlung des Restbetrags.")),
        "ja": (["残金はいつ支払いますか？", "予約商品の残りの支払い期限は？", "残金の支払い方法を教えてください。", "手付金を払いました。次は何をすればいいですか？"],
               ("セール開始後2日以内にお支払いください。", "セール開始時に残金のお支払いをご案内します。")),
    },
    "invoice": {
        "zh": (["可以开发票吗？", "怎么申请电子发票？", "发票在哪里下载？", "需要开公司抬头的发票"],
               ("可以的，请在订单详情页申请电子发票。", "发票会在确认收货后发送到您的邮箱。")),
        "en": (["Can I get an invoice?", "Where do I download the invoice?", "I need an invoice with my company name",
                "Please send me a receipt."],
               ("Yes, you can download it from your order page.", "We email the invoice once the order is delivered.")),
        "de": (["Kann ich eine Rechnung bekommen?", "Wo finde ich die Rechnung?", "Ich brauche eine Rechnung auf meine Firma.",
                "Bitte senden Sie mir einen Beleg."],
               ("Ja, die Rechnung finden Sie in Ihrem Konto.", "Die Rechnung senden wir nach der Zustellung per E-Mail.")),
        "ja": (["領収書は発行できますか？", "請求書はどこでダウンロードできますか？", "会社名で領収書をお願いします。", "レシートを送ってください。"],
               ("注文詳細ページから発行できます。", "商品到着後にメールで領収書をお送りします。")),
    },
}
UNKNOWN_ENUM = {  # source -> (field, a value the contract does not know)
    "order_events": ("event_type", "order_price_changed"),
    "payment_events": ("payment_kind", "installment"),
    "refund_events": ("status", "chargeback"),
    "logistics_events": ("scan_type", "customs_hold"),
    "clickstream": ("event_type", "wishlist"),
    "returns": ("status", "escalated"),
    "reviews": ("language", "pt"),
    "cs_chats": ("intent", "warranty_claim"),
    "seller_records": ("record_type", "vat_filing"),
}
REQUIRED = {  # source -> fields the null_required defect may blank (key and must-have fields)
    "order_events": ["event_id", "event_at", "order_id", "platform_id", "currency", "order_status"],
    "payment_events": ["event_id", "event_at", "order_id", "payment_id", "amount", "currency"],
    "refund_events": ["event_id", "event_at", "order_id", "refund_id", "line_id", "amount"],
    "logistics_events": ["event_id", "event_at", "shipment_id", "scan_type"],
    "clickstream": ["event_id", "session_id", "event_at", "event_type"],
    "returns": ["return_id", "order_id", "line_id", "status"],
    "reviews": ["review_id", "product_id", "rating"],
    "cs_chats": ["chat_id", "started_at", "intent"],
    "seller_records": ["record_id", "shop_id", "record_type", "amount"],
}
AMOUNT_FIELD = {"order_events": "shipping_fee", "payment_events": "amount", "refund_events": "amount",
                "seller_records": "amount"}
EVENT_SOURCES = ["order_events", "payment_events", "refund_events", "logistics_events", "clickstream"]
# approximate lines per batch of 30 days at SF 1, to size the number of files per batch
ROWS_PER_SF_PER_BATCH = {
    "order_events": 150_000, "payment_events": 50_000, "refund_events": 8_000, "logistics_events": 180_000,
    "clickstream": 400_000, "inventory": 60_000, "returns": 20_000, "reviews": 12_000, "cs_chats": 8_000,
    "customers": 10_000, "products": 2_000, "seller_records": 2_000, "promotions": 100, "shops": 200,
    "brands": 100, "platforms": 10, "warehouses": 10, "fx_rates": 200,
}
CENT = Decimal("0.01")
