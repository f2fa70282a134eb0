// An error that maps to an HTTP status and a message saying what is wrong.
export class HttpError extends Error {
  constructor(
    public readonly statusCode: number,
    message: string,
    /** Optional body override for pyBit routes whose clients expect a fixed text. */
    public readonly body?: string,
  ) {
    super(message);
  }
}
