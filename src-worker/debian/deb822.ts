// The deb822 parser lives in src-shared (the controller reads uploaded .dsc/.changes files too).
export * from '@shared/deb822';
