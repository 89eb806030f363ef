"""Word lists for realistic demo and benchmark data: English, Russian, British and German people and companies.

Kept as plain space-separated strings so the lists stay easy to read and extend.
"""

from __future__ import annotations


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


# --- people ---------------------------------------------------------------------------------------
EN_MALE = words(
    """James John Robert Michael William David Richard Joseph Thomas Christopher Charles Daniel Matthew
    Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward
    Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel
    Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary
    Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl Dylan
    Harold Jordan Jesse Bryan Lawrence Arthur Gabriel Bruce Logan Albert Willie Alan Eugene Russell Vincent
    Wayne Ralph Roy Louis Philip Bobby Johnny Bradley Mason Liam Owen Lucas Caleb Hunter Connor"""
)
EN_FEMALE = words(
    """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra
    Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca
    Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine
    Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria
    Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha
    Madison Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia
    Grace Amber Denise Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla
    Alexis Lori Marie Chloe Claire Ava Mia Harper Zoe Lily Audrey Brooke"""
)
EN_LAST = words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
    Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
    Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz
    Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson
    Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray
    Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins
    Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero
    Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
    Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
    McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford
    Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer
    Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels
    Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold
    Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson
    Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Willis Carpenter
    Lawrence Sandoval Fleming Oliver Whitaker Sutton Bishop Caldwell Lambert Holland Bowman Fowler"""
)
RU_MALE = words(
    """Александр Алексей Андрей Антон Артём Борис Вадим Валерий Василий Виктор Виталий Владимир Владислав
    Вячеслав Геннадий Георгий Григорий Даниил Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл
    Константин Леонид Максим Марк Матвей Михаил Никита Николай Олег Павел Пётр Роман Руслан Семён
    Сергей Станислав Степан Тимофей Тимур Фёдор Юрий Ярослав Глеб Арсений Лев Эдуард Анатолий"""
)
RU_FEMALE = words(
    """Александра Алина Алла Анастасия Ангелина Анна Валентина Валерия Вера Вероника Виктория Галина Дарья
    Диана Евгения Екатерина Елена Елизавета Жанна Зоя Инна Ирина Карина Кира Ксения Лариса Лидия
    Любовь Людмила Маргарита Марина Мария Надежда Наталья Нина Оксана Ольга Полина Светлана София
    Таисия Тамара Татьяна Ульяна Юлия Яна Варвара Василиса Милана Эльвира"""
)
# Masculine forms; `ru_surname` derives the feminine one.
RU_LAST = words(
    """Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков
    Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров
    Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов Александров
    Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов Медведев
    Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров
    Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов Казаков
    Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов Щербаков Назаров
    Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов Пономарёв
    Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев Ермаков
    Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов Малышев
    Панов Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Ерёменко Шевченко Бондаренко
    Коваленко Кравченко Ткаченко Савченко Руденко Черных Седых Белых Долгих Шевчук Полищук Кравчук
    Ковальчук Островский Лисицкий Вишневский Ковальский Заболоцкий Покровский Добровольский Берёзкин
    Самойлов Рябов Суворов Жданов Блинов Субботин Шубин Дьячков Воронцов Пестов Гуляев Рыбаков"""
)
DE_FIRST = words(
    """Lukas Leon Finn Jonas Felix Maximilian Paul Julian Tobias Florian Stefan Andreas Thomas Markus
    Anna Laura Julia Lena Katharina Sophie Lea Sarah Johanna Hannah Sabine Claudia Petra Monika"""
)
DE_LAST = words(
    """Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter
    Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner
    Krause Meier Lehmann"""
)
UK_LAST = words(
    """Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White
    Roberts Green Hall Wood Jackson Clarke Hughes Edwards Turner Harrison Cooper Ward Morris Patel Khan"""
)

EN_TITLES = lines(
    """
    Operations Manager
    Office Manager
    Purchasing Manager
    Procurement Lead
    IT Director
    Head of Sales
    VP of Operations
    Chief Financial Officer
    Owner
    General Manager
    Marketing Director
    Facilities Manager
    Logistics Coordinator
    Finance Manager
    HR Manager
    CTO
    Founder
    Plant Manager
    """
)
RU_TITLES = lines(
    """
    Генеральный директор
    Коммерческий директор
    Финансовый директор
    Директор по закупкам
    Менеджер по закупкам
    Руководитель отдела продаж
    ИТ-директор
    Главный бухгалтер
    Офис-менеджер
    Начальник отдела логистики
    Руководитель проекта
    Технический директор
    Директор по развитию
    Учредитель
    """
)

# --- companies ------------------------------------------------------------------------------------
EN_COMPANY_HEAD = words(
    """Blue Ridge Northwind Summit Pioneer Evergreen Harbor Redwood Silverline Lakeside Granite Brightpath
    Keystone Cedar Ironwood Atlas Beacon Crescent Liberty Maple Orion Prairie Riverbend Sterling Trident
    Union Vista Westfield Copper Falcon Horizon Oakridge Pinnacle Meridian Bluewater Clearview Highland
    Starlight Suncoast Greenfield Rockport Bayside Frontier Heritage Landmark Parkway Sapphire Timberline
    Goldleaf Stonebridge Eastgate Silverton Canyon Aspen Cascade Mosaic Quantum Vertex Apex Lumen"""
)
EN_COMPANY_TAIL = words(
    """Logistics Foods Systems Manufacturing Health Builders Capital Analytics Supply Labs Dental Freight
    Hotels Solar Print Motors Software Partners Packaging Textiles Electric Plumbing Roofing Insurance
    Realty Media Robotics Pharma Outfitters Brewing Studios Networks Security Clinics Academy Farms"""
)
EN_COMPANY_FORM = ("Inc.", "LLC", "Co.", "Group", "Corp.", "")
RU_COMPANY_HEAD = words(
    """Техно Строй Агро Транс Энерго Пром Мед Инфо Евро Сиб Урал Волга Балт Нева Кама Дон Глав Спец Авто
    Нефте Лес Хим Стек Мета Бизнес Гео Эко Термо Электро Проф Мега Сталь Торг Вектор Альфа Север Юг"""
)
RU_COMPANY_TAIL = words(
    """сервис торг снаб систем инвест лайн маш пласт логистик комплект монтаж проект трейд софт хим снабжение
    групп холдинг ресурс стандарт мир партнер технологии строй маркет"""
)
RU_COMPANY_FORM = ("ООО", "ООО", "ООО", "ООО", "АО", "АО", "ПАО")

INDUSTRIES_EN = lines(
    """
    Logistics
    Manufacturing
    Retail
    Software
    Healthcare
    Construction
    Financial services
    Education
    Hospitality
    Wholesale
    Agriculture
    Energy
    Telecommunications
    Real estate
    Legal services
    Marketing
    """
)
INDUSTRIES_RU = lines(
    """
    Логистика
    Производство
    Розничная торговля
    Программное обеспечение
    Здравоохранение
    Строительство
    Финансовые услуги
    Образование
    Гостиничный бизнес
    Оптовая торговля
    Сельское хозяйство
    Энергетика
    Телекоммуникации
    Недвижимость
    """
)

# City and the phone prefixes (national significant number starts) used there.
US_CITIES = (
    ("New York", ("212", "646", "917", "718")),
    ("San Francisco", ("415", "628")),
    ("Los Angeles", ("213", "310", "323")),
    ("Chicago", ("312", "773")),
    ("Boston", ("617", "857")),
    ("Austin", ("512", "737")),
    ("Seattle", ("206",)),
    ("Atlanta", ("404", "678")),
    ("Denver", ("303", "720")),
    ("Dallas", ("214", "469")),
    ("Houston", ("713", "832")),
    ("Miami", ("305", "786")),
    ("Phoenix", ("602", "480")),
    ("Nashville", ("615",)),
    ("Raleigh", ("919",)),
    ("Portland", ("503",)),
    ("Minneapolis", ("612",)),
)
RU_CITIES = (
    ("Москва", ("495", "499")),
    ("Санкт-Петербург", ("812",)),
    ("Казань", ("843",)),
    ("Екатеринбург", ("343",)),
    ("Новосибирск", ("383",)),
    ("Нижний Новгород", ("831",)),
    ("Краснодар", ("861",)),
    ("Самара", ("846",)),
)
RU_MOBILE_CODES = words(
    """901 903 905 906 909 910 912 913 915 916 917 918 919 921 922 925 926 927 929 931 950 951 952 953
    960 961 962 963 964 965 967 977 980 981 982 983 985 987 988 989 991 993 995 996 999"""
)
GB_CITIES = (("London", ("20",)), ("Manchester", ("161",)), ("Birmingham", ("121",)))
DE_CITIES = (("Berlin", ("30",)), ("München", ("89",)), ("Hamburg", ("40",)), ("Frankfurt am Main", ("69",)))
DE_MOBILE_CODES = ("151", "152", "160", "162", "170", "171", "172", "176")

FREE_MAIL = {
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"),
    "RU": ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru"),
    "GB": ("gmail.com", "outlook.com", "btinternet.com"),
    "DE": ("gmx.de", "web.de", "gmail.com"),
}

# --- activity texts -------------------------------------------------------------------------------
NOTES = {
    "en": lines(
        """
        Spoke with the office manager; decision maker is back next week.
        Interested in the annual plan, asked for a quote for 25 seats.
        Currently on a competitor's contract until the end of the quarter.
        Asked us to call back after their budget meeting.
        Left a voicemail, will try again tomorrow morning.
        Good conversation — wants a demo for the whole team.
        Price is the main concern; send the discount options.
        They are evaluating three vendors, we are on the shortlist.
        Referred by an existing customer, warm lead.
        Wrong contact; got the name of the purchasing lead instead.
        """
    ),
    "ru": lines(
        """
        Поговорил с офис-менеджером, ЛПР будет на следующей неделе.
        Интересуются годовым тарифом, попросили КП на 25 пользователей.
        Сейчас работают с конкурентом, договор до конца квартала.
        Просили перезвонить после бюджетного совещания.
        Оставил голосовое сообщение, перезвоню завтра утром.
        Хороший разговор — хотят демонстрацию для всей команды.
        Главный вопрос — цена, отправить варианты скидок.
        Сравнивают трёх поставщиков, мы в коротком списке.
        Пришли по рекомендации действующего клиента, тёплый лид.
        Не тот контакт; дали имя руководителя закупок.
        """
    ),
}
EMAIL_SUBJECTS = {
    "en": lines(
        """
        Following up on our call
        Quote for your team
        Case study: how similar companies cut costs
        Demo invitation
        Quick question about your current setup
        Re: pricing
        """
    ),
    "ru": lines(
        """
        По итогам нашего разговора
        Коммерческое предложение
        Кейс: как похожие компании сократили расходы
        Приглашение на демонстрацию
        Короткий вопрос о текущем решении
        Re: стоимость
        """
    ),
}
TASK_TITLES = {
    "en": ("Call back {name}", "Send proposal to {company}", "Follow up with {name}", "Confirm demo with {name}"),
    "ru": ("Перезвонить: {name}", "Отправить КП в {company}", "Напомнить о себе: {name}", "Подтвердить демо: {name}"),
}
CALL_OUTCOMES = ("connected", "connected", "connected", "no_answer", "no_answer", "voicemail", "busy", "wrong_number")
LOST_REASONS = {
    "en": ("Chose a competitor", "No budget this year", "Project postponed", "No response"),
    "ru": ("Выбрали конкурента", "Нет бюджета в этом году", "Проект отложен", "Нет ответа"),
}
TAGS = (
    ("trade-show-2026", "#0ea5e9"),
    ("webinar", "#8b5cf6"),
    ("hot", "#ef4444"),
    ("enterprise", "#0f766e"),
    ("callback", "#f59e0b"),
    ("partner-referral", "#22c55e"),
    ("выставка-москва", "#ec4899"),
    ("upsell", "#64748b"),
)

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
)


def transliterate(text: str) -> str:
    """Russian → Latin letters for emails and domains (a simplified passport-style table)."""
    out = []
    for char in text.lower():
        latin = _TRANSLIT.get(char)
        out.append(char if latin is None else ("" if latin == "_" else latin))
    return "".join(out)


def ru_surname(masculine: str, female: bool) -> str:
    """The feminine form of a Russian surname where the language changes it (Иванов → Иванова)."""
    if not female:
        return masculine
    if masculine.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return masculine + "а"
    if masculine.endswith("ский") or masculine.endswith("цкий"):
        return masculine[:-2] + "ая"
    return masculine
