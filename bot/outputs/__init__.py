"""What the bot makes for people to keep: the ambassadors' QR poster, the /stats charts and the
staff's workbook. Built from the rules' figures; no messenger in here."""
