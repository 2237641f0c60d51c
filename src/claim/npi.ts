/**
 * NPI check digit: the Luhn formula over the 9 identifier digits prefixed with 80840
 * (the card issuer prefix for US health applications), as CMS specifies.
 */
export function isValidNpi(npi: unknown): boolean {
  if (typeof npi !== 'string' || !/^\d{10}$/.test(npi)) return false;
  const digits = '80840' + npi;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
